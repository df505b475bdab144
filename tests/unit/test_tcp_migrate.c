/*
 * test_tcp_migrate.c - a listener copy that closes hands its pending
 * connections to another member of its accept group (stack/tcp/
 * tcp_migrate.c), end to end in one process.
 *
 * Three stacks on one virtual clock: a client C (10.61.0.1) and two
 * servers A and B that share 10.61.0.2 and one MAC, each a member of one
 * host (host_join twice on a registry of the test's own: two joins in one
 * process are two members, as liveness is an open-file-description lock
 * per member). Each stack has a memlink of its own whose other end the
 * test holds; the test is the switch and plays the kernel's steering
 * filter (steer.bpf.c's rules, in its order) for C's frames, reading the
 * real maps:
 *
 *   ARP: to both; IPv4 to the server address: the flows entry's member,
 *   else one of the port's active members by steer_pick (the filter's
 *   hash), else its only holder, else nobody (dropped); anything else:
 *   the default member.
 *
 * A's and B's frames all go to C (nothing of theirs is for each other).
 * C picks its source port so that the hash gives a new flow to A; from
 * the SYN on, the flows entry A's listener writes decides, and after A
 * closes its listener the entry it gave B sends the flow to B. The
 * switch counts what each server sent C (frames, RSTs, SYN-ACKs) and may
 * lose C's frames to A (all but the SYN: a handshake whose last ACK never
 * arrived).
 *
 * B may hold the port without using it (nginx's master at a reload):
 * then it keeps what A's copy had and passes it on once a member (A
 * again, with a new listener copy) uses the port. A burst of more pending
 * connections than a mailbox queues datagrams moves all the same.
 *
 * The maps are real BPF maps: the suite needs root (or CAP_BPF) and
 * fails, saying so, without it. MTCP_MIGRATE_TRACE=1 prints every TCP
 * frame the switch moves (or loses) on stderr.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "check_main.h"
#include "host.h"
#include "stack_harness.h"
#include "steer.h"
#include "tcp_var.h"

#define CLIENT_IP       0x0a3d0001u     /* 10.61.0.1 */
#define SERVER_IP       0x0a3d0002u     /* 10.61.0.2: A's and B's */
#define IFINDEX         7               /* made up: no interface is used */
#define PORT            80
#define DATA_LEN        1000            /* C's request */
#define REPLY_LEN       700             /* B's answer */
#define QLEN            4096
#define WAIT_MAX        (30 * USEC_PER_SEC)
#define IDLE_STEP       USEC_PER_MSEC
#define MAX_ROUNDS      100000

static const uint8_t CLIENT_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t SERVER_MAC[6] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x02 };

enum { C, A, B, NSTACKS };
static const char *const who[NSTACKS] = { "C", "A", "B" };

struct world {
	uint64_t now;                   /* the shared virtual clock */
	char rundir[PATH_MAX];          /* this test's registry directory */
	struct stack *st[NSTACKS];
	struct netdev *end[NSTACKS];    /* the test's end of each stack's link */
	struct host *h[NSTACKS];        /* A's and B's memberships (C: none) */
	uint16_t member[NSTACKS];
	/* the switch */
	bool lose_c_to_a;               /* lose C's frames to A but its SYNs */
	unsigned to_c[NSTACKS];         /* frames A / B sent C */
	unsigned rst_to_c[NSTACKS];     /* of which RSTs */
	unsigned synack_to_c[NSTACKS];  /* of which SYN-ACKs */
	unsigned from_c[NSTACKS];       /* C's frames delivered to A / B */
	unsigned lost;                  /* C's frames lost on purpose */
	unsigned nobody;                /* C's frames the steering gave nobody */
};

static struct world w;
/* The parent of every test's registry directory: made and removed by an
 * unchecked fixture, in the runner's process, so a test that fails
 * leaves nothing behind. */
static char topdir[64];

/* ---- registry directories ------------------------------------------- */

static void rm_tree(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX];

	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_type == DT_DIR && depth > 0)
			rm_tree(path, depth - 1);
		else
			unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static void top_setup(void)
{
	strcpy(topdir, "/tmp/mtcp-migrate-XXXXXX");
	if (!mkdtemp(topdir))
		topdir[0] = '\0';
}

static void top_teardown(void)
{
	if (topdir[0])
		rm_tree(topdir, 1);
}

/* ---- the world ------------------------------------------------------ */

static struct host *join(const char *name, uint8_t mac_out[6])
{
	struct host_params p = {
		.rundir = w.rundir,
		.iface = name,
		.ifindex = IFINDEX,
		.addr = SERVER_IP,
	};
	struct host *h = NULL;
	char err[256] = "";
	int e;

	memcpy(p.mac, SERVER_MAC, 6);
	e = host_join(&p, &h, mac_out, err, sizeof(err));
	if (e == -EPERM)
		ck_abort_msg("host_join: %s: this suite needs root (or CAP_BPF) for the "
			     "steering maps", err);
	ck_assert_msg(e == 0, "host_join for %s: %s (%s)", name, strerror(-e), err);
	return h;
}

static struct stack *make_stack(int i, uint32_t addr, const uint8_t mac[6], uint64_t seed)
{
	struct mtcp_config cfg = {
		.driver = MTCP_DRIVER_TAP,
		.addr = addr,
		.prefix = 24,
		.has_mac = true,
		.seed = seed,
	};
	struct mtcp_clock clk = mtcp_virtual_clock(&w.now);
	struct netdev *ours;
	struct stack *st;

	memcpy(cfg.mac, mac, 6);
	strcpy(cfg.iface, "memlink");
	ck_assert_int_eq(memlink_pair(&ours, &w.end[i], 1500, QLEN), 0);
	ck_assert_int_eq(mtcp_stack_create(&cfg, ours, &clk, &st), 0);
	return st;
}

static void setup(void)
{
	uint8_t mac_a[6], mac_b[6];

	memset(&w, 0, sizeof(w));
	w.now = 1000 * USEC_PER_SEC;
	ck_assert_msg(topdir[0], "no temporary directory for the registries");
	snprintf(w.rundir, sizeof(w.rundir), "%s/t-XXXXXX", topdir);
	ck_assert_msg(mkdtemp(w.rundir) != NULL, "mkdtemp: %s", strerror(errno));
	/* Two members of one host in this one process. */
	w.h[A] = join("A", mac_a);
	w.h[B] = join("B", mac_b);
	w.member[A] = host_member(w.h[A]);
	w.member[B] = host_member(w.h[B]);
	ck_assert_msg(w.member[A] && w.member[B] && w.member[A] != w.member[B],
		      "two joins in one process gave members %u and %u", w.member[A],
		      w.member[B]);
	ck_assert_msg(host_is_default(w.h[A]) && !host_is_default(w.h[B]),
		      "the first member is not the only default");
	ck_assert_msg(!memcmp(mac_a, SERVER_MAC, 6) && !memcmp(mac_b, SERVER_MAC, 6),
		      "the members do not share the registry's MAC");

	w.st[C] = make_stack(C, CLIENT_IP, CLIENT_MAC, 0xc11e47);
	w.st[A] = make_stack(A, SERVER_IP, mac_a, 0xa);
	w.st[B] = make_stack(B, SERVER_IP, mac_b, 0xb);
	/* mtcp_stack_open would have joined; mtcp_stack_destroy leaves. */
	w.st[A]->host = w.h[A];
	w.st[B]->host = w.h[B];
}

static void teardown(void)
{
	for (int i = 0; i < NSTACKS; i++)
		h_assert_socks_closed(w.st[i], who[i]);
	for (int i = 0; i < NSTACKS; i++) {
		mtcp_stack_destroy(w.st[i]);
		netdev_destroy(w.end[i]);
	}
	rm_tree(w.rundir, 0);
}

/* ---- the maps -------------------------------------------------------- */

static struct steer_flow flow_key(uint16_t cport)
{
	struct steer_flow k;

	memset(&k, 0, sizeof(k));
	k.raddr = htonl(CLIENT_IP);
	k.rport = htons(cport);
	k.lport = htons(PORT);
	k.proto = IPPROTO_TCP;
	return k;
}

/* The member the flows entry of C's connection names, 0 for none. */
static uint16_t flow_member(uint16_t cport)
{
	struct steer_flow k = flow_key(cport);
	uint16_t m = 0;
	int e = steer_flow_get(host_steer(w.h[A]), &k, &m);

	ck_assert_msg(e == 0 || e == -ENOENT, "steer_flow_get: %s", strerror(-e));
	return e == 0 ? m : 0;
}

static struct steer_port port_entry(void)
{
	struct steer_port v;

	memset(&v, 0, sizeof(v));
	ck_assert_int_eq(steer_port_get(host_steer(w.h[A]), IPPROTO_TCP, htons(PORT), &v), 0);
	return v;
}

static int index_of(uint16_t m)
{
	return m && m == w.member[A] ? A : m && m == w.member[B] ? B : -1;
}

/* The steering filter's verdict on a frame C sent (steer.bpf.c): the
 * stack that receives it, -1 for none. ARP is everyone's (the caller's). */
static int steer(const struct frame *f)
{
	struct host_stats hs;
	struct steer_port v;
	uint16_t m;

	host_get_stats(w.h[A], &hs);
	if (!f->is_ip || f->ip.dst != SERVER_IP || (!f->is_tcp && !f->is_udp))
		return index_of(hs.default_member);
	struct steer_flow k = flow_key(f->is_tcp ? f->tcp.sport : f->udp.sport);
	k.raddr = htonl(f->ip.src);
	k.lport = htons(f->is_tcp ? f->tcp.dport : f->udp.dport);
	k.proto = f->ip.proto;
	if (steer_flow_get(host_steer(w.h[A]), &k, &m) == 0)
		return index_of(m);
	if (steer_port_get(host_steer(w.h[A]), f->ip.proto, k.lport, &v) == 0 &&
	    v.nholders > 0) {
		if (v.nactive)
			return index_of(steer_pick(&v, k.raddr, k.rport));
		return v.nholders == 1 ? index_of(v.h[0].member) : -1;
	}
	return index_of(hs.default_member);
}

/* ---- the switch and the clock --------------------------------------- */

/* MTCP_MIGRATE_TRACE=1: every TCP frame switched (or lost), on stderr. */
static void trace(const char *what, const struct frame *f)
{
	static int on = -1;
	char line[200];

	if (on < 0)
		on = getenv("MTCP_MIGRATE_TRACE") != NULL;
	if (on && f->is_tcp)
		fprintf(stderr, "%llu.%06llu %s %s\n", (unsigned long long)(w.now / USEC_PER_SEC),
			(unsigned long long)(w.now % USEC_PER_SEC), what,
			h_tcp_describe(f, line, sizeof(line)));
}

static void deliver(int to, const struct frame *f)
{
	static const char *const tag[NSTACKS] = { "C <-", "A <-", "B <-" };
	int rc;

	trace(tag[to], f);
	rc = netdev_send(w.end[to], f->buf, f->len, w.now);
	ck_assert_msg(rc == 0, "the link to %s refused a frame: %s", who[to], strerror(-rc));
}

/* Move every frame waiting on the links; returns how many moved. */
static unsigned route(void)
{
	static struct frame f;
	unsigned moved = 0;
	const char *err;
	ssize_t n;

	for (int src = A; src <= B; src++) {
		while ((n = netdev_recv(w.end[src], f.buf, sizeof(f.buf), w.now)) > 0) {
			err = h_frame_parse(&f, (size_t)n);
			ck_assert_msg(!err, "%s sent a bad frame: %s", who[src], err);
			w.to_c[src]++;
			if (f.is_tcp && (f.tcp.flags & TH_RST))
				w.rst_to_c[src]++;
			if (f.is_tcp && (f.tcp.flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK))
				w.synack_to_c[src]++;
			deliver(C, &f);
			moved++;
		}
	}
	while ((n = netdev_recv(w.end[C], f.buf, sizeof(f.buf), w.now)) > 0) {
		err = h_frame_parse(&f, (size_t)n);
		ck_assert_msg(!err, "C sent a bad frame: %s", err);
		moved++;
		if (f.is_arp) {
			deliver(A, &f);
			deliver(B, &f);
			continue;
		}
		int to = steer(&f);
		if (to < 0) {
			trace("nobody", &f);
			w.nobody++;
			continue;
		}
		if (to == A && w.lose_c_to_a &&
		    !(f.is_tcp && (f.tcp.flags & (TH_SYN | TH_ACK)) == TH_SYN)) {
			trace("A lost", &f);
			w.lost++;
			continue;
		}
		w.from_c[to]++;
		deliver(to, &f);
	}
	return moved;
}

static uint64_t next_due(void)
{
	uint64_t t = TIME_NEVER;

	for (int i = 0; i < NSTACKS; i++) {
		uint64_t at = mtcp_stack_poll_at(w.st[i]);
		if (at < t)
			t = at;
	}
	return t;
}

/* Poll the three stacks and switch their frames until nothing moves at
 * this time. Returns whether any frame moved. */
static bool world_poll(void)
{
	bool any = false;

	for (unsigned round = 0; round < MAX_ROUNDS; round++) {
		bool more = false;
		for (int i = 0; i < NSTACKS; i++)
			more |= mtcp_stack_poll(w.st[i]);
		unsigned moved = route();
		any |= moved != 0;
		if (!more && !moved && next_due() > w.now)
			return any;
	}
	ck_abort_msg("the stacks are still busy after %u rounds at t=%llu us", MAX_ROUNDS,
		     (unsigned long long)w.now);
	return any;
}

/* Advance the clock, at most max_us, stopping at every timer, until
 * cond(ctx) holds (cond NULL: the whole time). */
static bool world_run_until(bool (*cond)(void *), void *ctx, uint64_t max_us)
{
	uint64_t end = w.now + max_us;

	for (;;) {
		world_poll();
		if (cond) {
			if (cond(ctx))
				return true;
			if (world_poll() && cond(ctx))
				return true;
		}
		if (w.now >= end)
			return false;
		uint64_t next = next_due();
		if (cond && next > w.now + IDLE_STEP)
			next = w.now + IDLE_STEP;
		if (next <= w.now)
			next = w.now + 1;
		w.now = next < end ? next : end;
	}
}

static void world_run(uint64_t us)
{
	world_run_until(NULL, NULL, us);
}

/* ---- sockets --------------------------------------------------------- */

static struct stack_stats stats(int i)
{
	struct stack_stats s;

	mtcp_stack_stats(w.st[i], &s);
	return s;
}

/* A listener on st i, port 80; B's as a fork()ed child has its
 * parent's (mtcp_bind_inherited). */
static struct mtcp_sock *listen_on(int i)
{
	struct sockaddr_in a = h_sin(0, PORT);
	struct mtcp_sock *l;

	ck_assert_int_eq(mtcp_socket(w.st[i], SOCK_STREAM, &l), 0);
	if (i == B)
		ck_assert_int_eq(mtcp_bind_inherited(l, &a), 0);
	else
		ck_assert_int_eq(mtcp_bind(l, &a), 0);
	ck_assert_int_eq(mtcp_listen(l, 16), 0);
	return l;
}

/* A's and B's listeners; active ones polled once (as an event loop
 * does), which makes their member take new flows of the port. */
static void listeners(struct mtcp_sock **la, struct mtcp_sock **lb, bool b_active)
{
	*la = listen_on(A);
	*lb = listen_on(B);
	ck_assert_uint_eq(mtcp_poll(*la) & EPOLLIN, 0);
	if (b_active)
		ck_assert_uint_eq(mtcp_poll(*lb) & EPOLLIN, 0);
	struct steer_port v = port_entry();
	ck_assert_msg(v.nholders == 2 && v.nactive == (b_active ? 2u : 1u),
		      "port %u: %u holders, %u active", PORT, v.nholders, v.nactive);
}

/* A source port for C whose new flow the steering gives to stack i. */
static uint16_t client_port_for(int i)
{
	struct steer_port v = port_entry();

	for (uint16_t p = 40000; p < 41000; p++)
		if (steer_pick(&v, htonl(CLIENT_IP), htons(p)) == w.member[i])
			return p;
	ck_abort_msg("no client port in 40000..40999 is steered to %s", who[i]);
	return 0;
}

static bool connected_or_failed(void *s)
{
	return mtcp_poll(s) & (EPOLLOUT | EPOLLERR | EPOLLHUP);
}

/* C connects from cport to the server; returns when it is connected. */
static struct mtcp_sock *client_connect(uint16_t cport)
{
	struct sockaddr_in from = h_sin(0, cport);
	struct mtcp_sock *c;
	int rc;

	ck_assert_int_eq(mtcp_socket(w.st[C], SOCK_STREAM, &c), 0);
	ck_assert_int_eq(mtcp_bind(c, &from), 0);
	rc = h_sock_connect(c, SERVER_IP, PORT);
	ck_assert_msg(rc == -EINPROGRESS, "connect: %d (%s)", rc, strerror(-rc));
	ck_assert_msg(world_run_until(connected_or_failed, c, WAIT_MAX),
		      "C's connect: not writable after %d s", (int)(WAIT_MAX / USEC_PER_SEC));
	ck_assert_msg(h_sock_error(c) == 0, "C's connect failed: %s",
		      strerror(h_sock_error(c)));
	return c;
}

/* The state of st i's connection with C's cport; -1: none. */
static int conn_state(int i, uint16_t cport)
{
	struct stack *st = w.st[i];
	int state = -1;

	pthread_mutex_lock(&st->lock);
	struct tcpcb *tp = tcp_lookup(st, SERVER_IP, PORT, CLIENT_IP, cport);
	if (tp)
		state = tp->t_state;
	stack_unlock(st);
	return state;
}

static void fill(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed + i * 131 + (i >> 8));
}

static void send_all(struct mtcp_sock *s, const uint8_t *buf, size_t len, const char *name)
{
	ssize_t n = mtcp_sendto(s, buf, len, 0, NULL);

	ck_assert_msg(n == (ssize_t)len, "%s's send of %zu bytes: %zd (%s)", name, len, n,
		      n < 0 ? strerror((int)-n) : "short");
}

/* Reading until want bytes and (eof) EOF, or an error. */
struct reader {
	struct mtcp_sock *s;
	uint8_t buf[4096];
	size_t got, want;
	bool eof_wanted, eof;
	ssize_t err;                    /* a negative result other than EAGAIN */
};

static bool read_some(void *arg)
{
	struct reader *r = arg;

	for (;;) {
		ssize_t n = mtcp_recvfrom(r->s, r->buf + r->got, sizeof(r->buf) - r->got, 0, NULL);
		if (n == -EAGAIN)
			return false;
		if (n < 0) {
			r->err = n;
			return true;
		}
		if (n == 0) {
			r->eof = true;
			return true;
		}
		r->got += (size_t)n;
		if (r->got >= r->want && !r->eof_wanted)
			return true;
		if (r->got >= sizeof(r->buf))
			return true;
	}
}

/* Read exactly the len bytes of expect (then EOF when eof) from s. */
static void read_expect(struct mtcp_sock *s, const uint8_t *expect, size_t len, bool eof,
			const char *name)
{
	static struct reader r;

	memset(&r, 0, sizeof(r));
	r.s = s;
	r.want = len;
	r.eof_wanted = eof;
	world_run_until(read_some, &r, WAIT_MAX);
	ck_assert_msg(r.err == 0, "%s: read after %zu of %zu bytes: %s", name, r.got, len,
		      strerror((int)-r.err));
	ck_assert_msg(r.got == len, "%s read %zu bytes, not %zu%s", name, r.got, len,
		      r.eof ? " (then EOF)" : "");
	ck_assert_msg(!len || !memcmp(r.buf, expect, len), "%s: the bytes read are not the "
		      "bytes sent", name);
	if (eof)
		ck_assert_msg(r.eof, "%s: no EOF after the %zu bytes", name, len);
	else
		ck_assert_msg(mtcp_recvfrom(s, r.buf, sizeof(r.buf), 0, NULL) == -EAGAIN,
			      "%s: more than the %zu bytes (or EOF) to read", name, len);
}

static bool acceptable(void *l)
{
	return mtcp_poll(l) & EPOLLIN;
}

/* Server i accepts C's connection on l (waiting for it at most
 * WAIT_MAX). */
static struct mtcp_sock *accept_on(int i, struct mtcp_sock *l, uint16_t cport)
{
	struct sockaddr_in peer;
	struct mtcp_sock *s = NULL;
	int rc;

	ck_assert_msg(world_run_until(acceptable, l, WAIT_MAX),
		      "%s's listener has nothing to accept after %d s", who[i],
		      (int)(WAIT_MAX / USEC_PER_SEC));
	memset(&peer, 0, sizeof(peer));
	rc = mtcp_accept(l, &peer, &s);
	ck_assert_msg(rc == 0, "%s's accept: %d (%s)", who[i], rc, strerror(-rc));
	ck_assert_msg(ntohl(peer.sin_addr.s_addr) == CLIENT_IP && ntohs(peer.sin_port) == cport,
		      "%s accepted a connection from %08x:%u, not C's %08x:%u", who[i],
		      ntohl(peer.sin_addr.s_addr), ntohs(peer.sin_port), CLIENT_IP, cport);
	return s;
}

static struct mtcp_sock *accept_on_b(struct mtcp_sock *lb, uint16_t cport)
{
	return accept_on(B, lb, cport);
}

/* No RST reached C, and its connection is in state (TCP_INFO's) with
 * no error. */
static void assert_c_fine(struct mtcp_sock *c, unsigned state, const char *when)
{
	struct tcp_info ti = h_tcp_info(c);
	int err = h_sock_error(c);

	ck_assert_msg(w.rst_to_c[A] == 0 && w.rst_to_c[B] == 0,
		      "%s: C was reset (RSTs: %u from A, %u from B)", when, w.rst_to_c[A],
		      w.rst_to_c[B]);
	ck_assert_msg(ti.tcpi_state == state, "%s: C's connection is in state %u, not %u",
		      when, ti.tcpi_state, state);
	ck_assert_msg(err == 0, "%s: C's connection has an error: %s", when, strerror(err));
}

/* C's data reached A, unaccepted: A's copy of the connection is in
 * state, holding the bytes. */
static void assert_pending_on_a(uint16_t cport, int state, size_t bytes)
{
	pthread_mutex_lock(&w.st[A]->lock);
	struct tcpcb *tp = tcp_lookup(w.st[A], SERVER_IP, PORT, CLIENT_IP, cport);
	int st = tp ? (int)tp->t_state : -1;
	size_t len = tp ? tp->rcv.len : 0;
	bool listener = tp && tp->t_listener;
	stack_unlock(w.st[A]);
	ck_assert_msg(st == state && len == bytes && listener,
		      "A's pending connection: state %d (want %d), %zu bytes (want %zu), %s",
		      st, state, len, bytes, listener ? "its listener's" : "no listener's");
	ck_assert_msg(flow_member(cport) == w.member[A], "the flows entry names member %u, "
		      "not A (%u)", flow_member(cport), w.member[A]);
}

/* A closes its listener: the connection goes to B (steering first), A's
 * copy goes without a word to C. */
static void close_a_and_check_handover(struct mtcp_sock *la, uint16_t cport)
{
	unsigned a_frames = w.to_c[A];

	mtcp_close(la);
	ck_assert_uint_eq(stats(A).tcp_migrated_out, 1);
	ck_assert_msg(flow_member(cport) == w.member[B], "after A's close the flows entry "
		      "names member %u, not B (%u)", flow_member(cport), w.member[B]);
	ck_assert_msg(conn_state(A, cport) == -1, "A kept its copy of the connection");
	ck_assert_uint_eq(usage(w.st[A]).tcp_pcbs, 0);
	ck_assert_msg(stats(B).tcp_migrated_in == 0, "B took the connection before "
		      "polling its mailbox");
	world_poll();
	ck_assert_uint_eq(stats(B).tcp_migrated_in, 1);
	ck_assert_msg(w.to_c[A] == a_frames, "A sent C %u frames after closing its listener",
		      w.to_c[A] - a_frames);
}

/* Server srv answers C on s, then both close: C first (srv reads EOF),
 * then srv; the flows entry goes with srv's connection, C's TIME-WAIT
 * runs out; l, srv's listener, and others (NULL or another listener)
 * close. */
static void reply_and_close_on(int srv, struct mtcp_sock *c, struct mtcp_sock *s,
			       struct mtcp_sock *l, struct mtcp_sock *others, uint16_t cport)
{
	uint8_t reply[REPLY_LEN];
	char what[64];

	fill(reply, sizeof(reply), 0x5a);
	send_all(s, reply, sizeof(reply), who[srv]);
	read_expect(c, reply, sizeof(reply), false, "C");
	assert_c_fine(c, TCP_ESTABLISHED, "after the server's reply");

	ck_assert_int_eq(mtcp_shutdown(c, SHUT_WR), 0);
	snprintf(what, sizeof(what), "%s after C's FIN", who[srv]);
	read_expect(s, NULL, 0, true, what);
	mtcp_close(s);
	read_expect(c, NULL, 0, true, "C after the server's FIN");
	mtcp_close(c);
	world_run(USEC_PER_SEC);
	ck_assert_msg(conn_state(srv, cport) == -1, "%s's connection is still there (state %d) "
		      "after both FINs", who[srv], conn_state(srv, cport));
	ck_assert_msg(flow_member(cport) == 0, "the flows entry (member %u) outlived %s's "
		      "connection", flow_member(cport), who[srv]);
	ck_assert_uint_eq(usage(w.st[srv]).tcp_pcbs, 1);     /* the listener */
	mtcp_close(l);
	if (others)
		mtcp_close(others);
	world_run(2 * TCP_MSL_DEFAULT + USEC_PER_SEC);
	for (int i = 0; i < NSTACKS; i++)
		ck_assert_msg(usage(w.st[i]).tcp_pcbs == 0, "%s holds %u TCP control blocks "
			      "at the end", who[i], usage(w.st[i]).tcp_pcbs);
	ck_assert_msg(w.rst_to_c[A] == 0 && w.rst_to_c[B] == 0, "RSTs to C: %u from A, %u "
		      "from B", w.rst_to_c[A], w.rst_to_c[B]);
	ck_assert_uint_eq(w.nobody, 0);
}

/* B answers C, then both close (reply_and_close_on). */
static void reply_and_close(struct mtcp_sock *c, struct mtcp_sock *sb, struct mtcp_sock *lb,
			    uint16_t cport)
{
	reply_and_close_on(B, c, sb, lb, NULL, cport);
}

/* ---- the tests -------------------------------------------------------- */

START_TEST(test_established_unaccepted_connection_moves_to_b_with_its_data)
{
	struct mtcp_sock *la, *lb, *c, *sb;
	uint8_t data[DATA_LEN];

	listeners(&la, &lb, true);
	uint16_t cport = client_port_for(A);
	c = client_connect(cport);
	fill(data, sizeof(data), 1);
	send_all(c, data, sizeof(data), "C");
	world_run(USEC_PER_SEC);
	assert_pending_on_a(cport, TCPS_ESTABLISHED, DATA_LEN);
	ck_assert_msg(mtcp_poll(la) & EPOLLIN, "A's listener has nothing to accept");
	ck_assert_uint_eq(w.from_c[B], 0);

	close_a_and_check_handover(la, cport);
	sb = accept_on_b(lb, cport);
	read_expect(sb, data, sizeof(data), false, "B");
	assert_c_fine(c, TCP_ESTABLISHED, "after the move");
	ck_assert_uint_eq(w.synack_to_c[B], 0);
	reply_and_close(c, sb, lb, cport);
}
END_TEST

START_TEST(test_segment_reaching_b_before_the_state_is_dropped_quietly_then_resent)
{
	struct mtcp_sock *la, *lb, *c, *sb;
	uint8_t data[DATA_LEN + 200];

	listeners(&la, &lb, true);
	uint16_t cport = client_port_for(A);
	c = client_connect(cport);
	fill(data, sizeof(data), 2);
	send_all(c, data, DATA_LEN, "C");
	world_run(USEC_PER_SEC);
	assert_pending_on_a(cport, TCPS_ESTABLISHED, DATA_LEN);

	mtcp_close(la);
	ck_assert_uint_eq(stats(A).tcp_migrated_out, 1);
	/* C sends more at once: the steering already takes it to B, whose
	 * poll reads its link before its mailbox. */
	send_all(c, data + DATA_LEN, 200, "C");
	route();
	ck_assert_uint_eq(w.from_c[B], 1);
	uint64_t bad = stats(B).drops[DROP_TCP_LISTEN_BAD];
	mtcp_stack_poll(w.st[B]);
	ck_assert_msg(stats(B).drops[DROP_TCP_LISTEN_BAD] == bad + 1,
		      "B's listener did not drop the segment that came before the state");
	ck_assert_uint_eq(stats(B).tcp_migrated_in, 1);
	route();
	ck_assert_msg(w.rst_to_c[B] == 0, "B reset a connection moving to it");

	sb = accept_on_b(lb, cport);
	read_expect(sb, data, sizeof(data), false, "B");   /* the 200 come again */
	assert_c_fine(c, TCP_ESTABLISHED, "after the move");
	reply_and_close(c, sb, lb, cport);
}
END_TEST

START_TEST(test_syn_received_connection_moves_and_b_resends_the_syn_ack)
{
	struct mtcp_sock *la, *lb, *c, *sb;
	uint8_t data[DATA_LEN];

	listeners(&la, &lb, true);
	uint16_t cport = client_port_for(A);
	/* The handshake's last ACK (and all after it) never reaches A. */
	w.lose_c_to_a = true;
	c = client_connect(cport);
	fill(data, sizeof(data), 3);
	send_all(c, data, sizeof(data), "C");      /* lost too: C resends it later */
	world_poll();
	ck_assert_msg(w.lost >= 2, "only %u of C's frames were lost", w.lost);
	assert_pending_on_a(cport, TCPS_SYN_RECEIVED, 0);
	ck_assert_uint_eq(w.synack_to_c[A], 1);
	ck_assert_uint_eq(mtcp_poll(la) & EPOLLIN, 0);

	w.lose_c_to_a = false;
	close_a_and_check_handover(la, cport);
	ck_assert_msg(w.synack_to_c[B] == 1, "B sent %u SYN-ACKs for the handshake it took "
		      "over, not 1", w.synack_to_c[B]);
	sb = accept_on_b(lb, cport);
	read_expect(sb, data, sizeof(data), false, "B");
	assert_c_fine(c, TCP_ESTABLISHED, "after the move");
	reply_and_close(c, sb, lb, cport);
}
END_TEST

START_TEST(test_close_wait_connection_moves_and_b_reads_data_then_eof)
{
	struct mtcp_sock *la, *lb, *c, *sb;
	uint8_t data[DATA_LEN], reply[300];

	listeners(&la, &lb, true);
	uint16_t cport = client_port_for(A);
	c = client_connect(cport);
	fill(data, sizeof(data), 4);
	send_all(c, data, sizeof(data), "C");
	ck_assert_int_eq(mtcp_shutdown(c, SHUT_WR), 0);
	world_run(USEC_PER_SEC);
	assert_pending_on_a(cport, TCPS_CLOSE_WAIT, DATA_LEN);

	close_a_and_check_handover(la, cport);
	sb = accept_on_b(lb, cport);
	ck_assert_int_eq(conn_state(B, cport), TCPS_CLOSE_WAIT);
	read_expect(sb, data, sizeof(data), true, "B");
	assert_c_fine(c, TCP_FIN_WAIT2, "after the move");

	fill(reply, sizeof(reply), 0x33);
	send_all(sb, reply, sizeof(reply), "B");
	mtcp_close(sb);
	read_expect(c, reply, sizeof(reply), true, "C");
	mtcp_close(c);
	world_run(USEC_PER_SEC);
	ck_assert_int_eq(conn_state(B, cport), -1);
	ck_assert_uint_eq(flow_member(cport), 0);
	mtcp_close(lb);
	world_run(2 * TCP_MSL_DEFAULT + USEC_PER_SEC);
	for (int i = 0; i < NSTACKS; i++)
		ck_assert_uint_eq(usage(w.st[i]).tcp_pcbs, 0);
	ck_assert_msg(w.rst_to_c[A] == 0 && w.rst_to_c[B] == 0, "RSTs to C: %u from A, %u "
		      "from B", w.rst_to_c[A], w.rst_to_c[B]);
}
END_TEST

/* A mailbox queues net.unix.max_dgram_qlen datagrams (10 by default):
 * more pending connections than that go all the same (nginx's workers
 * under ab -c 50 at a reload). */
#define BURST 16        /* within the listeners' backlog */

START_TEST(test_more_pending_connections_than_a_mailbox_queues_all_move)
{
	struct mtcp_sock *la, *lb, *c[BURST], *sb;
	uint16_t cport[BURST];
	uint8_t data[BURST][100];
	struct steer_port v;
	unsigned n = 0;

	listeners(&la, &lb, true);
	v = port_entry();
	for (uint16_t p = 40000; p < 42000 && n < BURST; p++)
		if (steer_pick(&v, htonl(CLIENT_IP), htons(p)) == w.member[A])
			cport[n++] = p;
	ck_assert_uint_eq(n, BURST);
	for (unsigned i = 0; i < BURST; i++) {
		c[i] = client_connect(cport[i]);
		fill(data[i], sizeof(data[i]), 10 + i);
		send_all(c[i], data[i], sizeof(data[i]), "C");
	}
	world_run(USEC_PER_SEC);
	for (unsigned i = 0; i < BURST; i++)
		assert_pending_on_a(cport[i], TCPS_ESTABLISHED, sizeof(data[i]));

	mtcp_close(la);
	ck_assert_uint_eq(stats(A).tcp_migrated_out, BURST);
	ck_assert_uint_eq(stats(A).tcp_out_rsts, 0);
	world_poll();
	ck_assert_msg(stats(B).tcp_migrated_in == BURST, "B took %llu of the %u connections",
		      (unsigned long long)stats(B).tcp_migrated_in, BURST);
	/* In any order; each with its own bytes. */
	for (unsigned k = 0; k < BURST; k++) {
		struct sockaddr_in peer;
		unsigned i = 0;
		ck_assert_msg(world_run_until(acceptable, lb, WAIT_MAX), "B's listener has "
			      "nothing to accept after %u connections", k);
		ck_assert_int_eq(mtcp_accept(lb, &peer, &sb), 0);
		while (i < BURST && cport[i] != ntohs(peer.sin_port))
			i++;
		ck_assert_msg(i < BURST, "B accepted a connection from port %u, not C's",
			      ntohs(peer.sin_port));
		read_expect(sb, data[i], sizeof(data[i]), false, "B");
		mtcp_close(sb);
	}
	ck_assert_msg(w.rst_to_c[A] == 0, "A reset %u of them", w.rst_to_c[A]);
	for (unsigned i = 0; i < BURST; i++)
		mtcp_close(c[i]);
	mtcp_close(lb);
	world_run(2 * TCP_MSL_DEFAULT + USEC_PER_SEC);
	for (int i = 0; i < NSTACKS; i++)
		ck_assert_uint_eq(usage(w.st[i]).tcp_pcbs, 0);
}
END_TEST

/* After a reset, C's connection reports ECONNRESET. */
static void assert_c_reset(struct mtcp_sock *c)
{
	uint8_t buf[64];
	ssize_t n = mtcp_recvfrom(c, buf, sizeof(buf), 0, NULL);

	ck_assert_msg(n == -ECONNRESET, "C's read after the reset: %zd (%s), not ECONNRESET",
		      n, n < 0 ? strerror((int)-n) : "data");
	ck_assert_int_eq(h_tcp_info(c).tcpi_state, TCP_CLOSE);
}

/* nginx -s reload: the old worker (A), the only member that uses the
 * port, closes its listener copy before the new workers poll theirs; the
 * master (B) holds the port, listening, and never used it. On the kernel
 * its descriptor keeps the listening socket and what waits in it. */
START_TEST(test_no_other_member_uses_the_port_b_keeps_the_connection)
{
	struct mtcp_sock *la, *lb, *c, *sb;
	uint8_t data[DATA_LEN];

	listeners(&la, &lb, false);
	uint16_t cport = client_port_for(A);
	c = client_connect(cport);
	fill(data, sizeof(data), 5);
	send_all(c, data, sizeof(data), "C");
	world_run(USEC_PER_SEC);
	assert_pending_on_a(cport, TCPS_ESTABLISHED, DATA_LEN);

	close_a_and_check_handover(la, cport);
	ck_assert_msg(w.rst_to_c[A] == 0 && w.rst_to_c[B] == 0, "RSTs to C: %u from A, %u "
		      "from B; none expected", w.rst_to_c[A], w.rst_to_c[B]);
	/* Nobody else to take it: B keeps it as long as it takes. */
	world_run(5 * USEC_PER_SEC);
	ck_assert_int_eq(conn_state(B, cport), TCPS_ESTABLISHED);
	ck_assert_uint_eq(flow_member(cport), w.member[B]);
	ck_assert_uint_eq(stats(B).tcp_migrated_out, 0);
	sb = accept_on_b(lb, cport);
	read_expect(sb, data, sizeof(data), false, "B");
	assert_c_fine(c, TCP_ESTABLISHED, "after the move");
	reply_and_close(c, sb, lb, cport);
}
END_TEST

/* The reload goes on: a new worker (here A again, a new listener copy
 * of the same port) polls its listener; what B kept goes on to it. */
START_TEST(test_kept_connection_goes_on_to_a_member_that_uses_the_port_later)
{
	struct mtcp_sock *la, *lb, *la2, *c, *sa;
	struct sockaddr_in a = h_sin(0, PORT);
	uint8_t data[DATA_LEN];

	listeners(&la, &lb, false);
	uint16_t cport = client_port_for(A);
	c = client_connect(cport);
	fill(data, sizeof(data), 7);
	send_all(c, data, sizeof(data), "C");
	world_run(USEC_PER_SEC);
	assert_pending_on_a(cport, TCPS_ESTABLISHED, DATA_LEN);
	close_a_and_check_handover(la, cport);
	world_run(USEC_PER_SEC);
	ck_assert_int_eq(conn_state(B, cport), TCPS_ESTABLISHED);
	ck_assert_uint_eq(stats(B).tcp_migrated_out, 0);

	ck_assert_int_eq(mtcp_socket(w.st[A], SOCK_STREAM, &la2), 0);
	ck_assert_int_eq(mtcp_bind_inherited(la2, &a), 0);
	ck_assert_int_eq(mtcp_listen(la2, 16), 0);
	ck_assert_uint_eq(mtcp_poll(la2) & EPOLLIN, 0);    /* A uses the port now */
	world_run(2 * TCP_PASS_INTERVAL);
	ck_assert_msg(stats(B).tcp_migrated_out == 1 && stats(A).tcp_migrated_in == 1,
		      "B passed %llu connections on, A took %llu; 1 expected",
		      (unsigned long long)stats(B).tcp_migrated_out,
		      (unsigned long long)stats(A).tcp_migrated_in);
	ck_assert_int_eq(conn_state(B, cport), -1);
	ck_assert_uint_eq(flow_member(cport), w.member[A]);
	ck_assert_uint_eq(mtcp_poll(lb) & EPOLLIN, 0);
	sa = accept_on(A, la2, cport);
	read_expect(sa, data, sizeof(data), false, "A");
	assert_c_fine(c, TCP_ESTABLISHED, "after the second move");
	reply_and_close_on(A, c, sa, la2, lb, cport);
}
END_TEST

/* The same for a handshake B took over: it goes on in SYN-RECEIVED. */
START_TEST(test_kept_handshake_goes_on_to_a_member_that_uses_the_port_later)
{
	struct mtcp_sock *la, *lb, *la2, *c, *sa;
	struct sockaddr_in a = h_sin(0, PORT);
	uint8_t data[DATA_LEN];

	listeners(&la, &lb, false);
	uint16_t cport = client_port_for(A);
	w.lose_c_to_a = true;
	c = client_connect(cport);
	fill(data, sizeof(data), 8);
	send_all(c, data, sizeof(data), "C");
	world_poll();
	assert_pending_on_a(cport, TCPS_SYN_RECEIVED, 0);
	w.lose_c_to_a = false;
	/* B, which keeps it, resends the SYN-ACK; C's ACK (the handshake's
	 * last) and its data reach B, which queues the connection. */
	close_a_and_check_handover(la, cport);
	world_run(USEC_PER_SEC);
	ck_assert_int_eq(conn_state(B, cport), TCPS_ESTABLISHED);

	ck_assert_int_eq(mtcp_socket(w.st[A], SOCK_STREAM, &la2), 0);
	ck_assert_int_eq(mtcp_bind_inherited(la2, &a), 0);
	ck_assert_int_eq(mtcp_listen(la2, 16), 0);
	ck_assert_uint_eq(mtcp_poll(la2) & EPOLLIN, 0);
	world_run(2 * TCP_PASS_INTERVAL);
	ck_assert_uint_eq(stats(A).tcp_migrated_in, 1);
	sa = accept_on(A, la2, cport);
	read_expect(sa, data, sizeof(data), false, "A");
	assert_c_fine(c, TCP_ESTABLISHED, "after the second move");
	reply_and_close_on(A, c, sa, la2, lb, cport);
}
END_TEST

/* No other member holds the port (nothing keeps a listening socket):
 * A resets what waited, as Linux does for a closed listener's queue. */
START_TEST(test_no_other_member_holds_the_port_a_resets_as_before)
{
	struct mtcp_sock *la, *c;
	uint8_t data[DATA_LEN];

	la = listen_on(A);
	ck_assert_uint_eq(mtcp_poll(la) & EPOLLIN, 0);
	uint16_t cport = 40000;
	c = client_connect(cport);
	fill(data, sizeof(data), 5);
	send_all(c, data, sizeof(data), "C");
	world_run(USEC_PER_SEC);
	assert_pending_on_a(cport, TCPS_ESTABLISHED, DATA_LEN);

	mtcp_close(la);
	ck_assert_uint_eq(stats(A).tcp_migrated_out, 0);
	ck_assert_msg(flow_member(cport) == 0, "the flows entry (member %u) outlived A's "
		      "connection", flow_member(cport));
	world_poll();
	ck_assert_msg(w.rst_to_c[A] == 1 && w.rst_to_c[B] == 0, "RSTs to C: %u from A, %u "
		      "from B; A's alone expected", w.rst_to_c[A], w.rst_to_c[B]);
	ck_assert_uint_eq(stats(B).tcp_migrated_in, 0);
	assert_c_reset(c);
	mtcp_close(c);
	world_run(USEC_PER_SEC);
	for (int i = 0; i < NSTACKS; i++)
		ck_assert_uint_eq(usage(w.st[i]).tcp_pcbs, 0);
}
END_TEST

START_TEST(test_b_without_a_listener_when_the_state_arrives_resets_it)
{
	struct mtcp_sock *la, *lb, *c;
	uint8_t data[DATA_LEN];

	listeners(&la, &lb, true);
	uint16_t cport = client_port_for(A);
	c = client_connect(cport);
	fill(data, sizeof(data), 6);
	send_all(c, data, sizeof(data), "C");
	world_run(USEC_PER_SEC);
	assert_pending_on_a(cport, TCPS_ESTABLISHED, DATA_LEN);

	mtcp_close(la);
	ck_assert_uint_eq(stats(A).tcp_migrated_out, 1);
	ck_assert_uint_eq(flow_member(cport), w.member[B]);
	/* B quits too, before its stack reads the mailbox. */
	mtcp_close(lb);
	uint64_t nosock = stats(B).drops[DROP_TCP_NO_SOCKET];
	uint64_t full = stats(B).drops[DROP_TCP_LISTEN_OVERFLOW];
	world_poll();
	ck_assert_uint_eq(stats(B).tcp_migrated_in, 0);
	ck_assert_msg(stats(B).drops[DROP_TCP_NO_SOCKET] == nosock + 1 &&
		      stats(B).drops[DROP_TCP_LISTEN_OVERFLOW] == full,
		      "B's refusal counted as %llu no-socket and %llu queue-full drops, not "
		      "one no-socket drop",
		      (unsigned long long)(stats(B).drops[DROP_TCP_NO_SOCKET] - nosock),
		      (unsigned long long)(stats(B).drops[DROP_TCP_LISTEN_OVERFLOW] - full));
	ck_assert_msg(w.rst_to_c[B] == 1 && w.rst_to_c[A] == 0, "RSTs to C: %u from A, %u "
		      "from B; B's alone expected", w.rst_to_c[A], w.rst_to_c[B]);
	ck_assert_msg(flow_member(cport) == 0, "the flows entry (member %u) outlived the "
		      "reset", flow_member(cport));
	assert_c_reset(c);
	mtcp_close(c);
	world_run(USEC_PER_SEC);
	for (int i = 0; i < NSTACKS; i++)
		ck_assert_uint_eq(usage(w.st[i]).tcp_pcbs, 0);
}
END_TEST

/* B (an old worker too) closes its listener and its stack stops before
 * its thread read what A sent: the connection is not lost with the
 * mailbox, B resets it (nobody else holds the port) as it would have. */
START_TEST(test_b_stopping_with_the_state_unread_does_not_lose_it)
{
	struct mtcp_sock *la, *lb, *c;
	uint8_t data[DATA_LEN];

	listeners(&la, &lb, true);
	uint16_t cport = client_port_for(A);
	c = client_connect(cport);
	fill(data, sizeof(data), 9);
	send_all(c, data, sizeof(data), "C");
	world_run(USEC_PER_SEC);
	assert_pending_on_a(cport, TCPS_ESTABLISHED, DATA_LEN);

	mtcp_close(la);
	ck_assert_uint_eq(stats(A).tcp_migrated_out, 1);
	mtcp_close(lb);
	mtcp_stack_stop(w.st[B]);
	ck_assert_msg(stats(B).drops[DROP_TCP_NO_SOCKET] == 1, "B's stop left the "
		      "connection in its mailbox");
	world_poll();
	ck_assert_msg(w.rst_to_c[B] == 1, "RSTs to C from B: %u, 1 expected", w.rst_to_c[B]);
	assert_c_reset(c);
	mtcp_close(c);
	world_run(USEC_PER_SEC);
}
END_TEST

static Suite *tcp_migrate_suite(void)
{
	Suite *s = suite_create("tcp_migrate");
	TCase *tm = tcase_create("move");
	TCase *tr = tcase_create("reset");

	tcase_add_unchecked_fixture(tm, top_setup, top_teardown);
	tcase_add_checked_fixture(tm, setup, teardown);
	tcase_add_test(tm, test_established_unaccepted_connection_moves_to_b_with_its_data);
	tcase_add_test(tm, test_segment_reaching_b_before_the_state_is_dropped_quietly_then_resent);
	tcase_add_test(tm, test_syn_received_connection_moves_and_b_resends_the_syn_ack);
	tcase_add_test(tm, test_close_wait_connection_moves_and_b_reads_data_then_eof);
	tcase_add_test(tm, test_no_other_member_uses_the_port_b_keeps_the_connection);
	tcase_add_test(tm, test_kept_connection_goes_on_to_a_member_that_uses_the_port_later);
	tcase_add_test(tm, test_kept_handshake_goes_on_to_a_member_that_uses_the_port_later);
	tcase_add_test(tm, test_more_pending_connections_than_a_mailbox_queues_all_move);
	tcase_set_timeout(tm, 30);
	suite_add_tcase(s, tm);

	tcase_add_unchecked_fixture(tr, top_setup, top_teardown);
	tcase_add_checked_fixture(tr, setup, teardown);
	tcase_add_test(tr, test_no_other_member_holds_the_port_a_resets_as_before);
	tcase_add_test(tr, test_b_without_a_listener_when_the_state_arrives_resets_it);
	tcase_add_test(tr, test_b_stopping_with_the_state_unread_does_not_lose_it);
	tcase_set_timeout(tr, 30);
	suite_add_tcase(s, tr);
	return s;
}

CHECK_MAIN(tcp_migrate_suite)
