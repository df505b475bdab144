/*
 * test_host.c - the registry of the processes on one address
 * (stack/host/host.[ch]): join and the shared maps, Linux's bind rules
 * across processes, liveness (a SIGKILLed member's ports, flows and
 * default role freed), a fresh start when every member is dead, a member
 * that dies holding the registry lock, accept-group bookkeeping,
 * host_owned_elsewhere; the handles table (the sockets several processes
 * hold: holders, pending fork children, exec graces, owners lost with
 * their member, orphans, a full table), mail that carries a descriptor,
 * the keeper.
 *
 * Rules between processes are tested between processes: a "kid" is a
 * fork()ed process that forgets the test's memberships (as the preload's
 * child does), joins on its own and runs the commands the test sends it
 * down a pipe, one reply each. Each test has a registry directory of its
 * own (mkdtemp). The maps are real BPF maps: the suite needs root (or
 * CAP_BPF) and fails, saying so, without it.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "check_main.h"
#include "host.h"
#include "steer.h"

#define ADDR      0x0a630001u   /* 10.99.0.1 */
#define IFINDEX   7
#define RADDR     0x0a000009u   /* 10.0.0.9 */
#define TCP       IPPROTO_TCP
#define UDP       IPPROTO_UDP

static char rundir[64];

/* This test process's memberships: a kid forgets them at birth. */
#define MINE_MAX 4
static struct host *mine[MINE_MAX];

/* The kids running: a new kid closes its elders' pipes, or an elder
 * would never see its pipe close. */
#define KIDS_MAX 8
struct kid;
static struct kid *kids[KIDS_MAX];

static void params_for(struct host_params *p, uint8_t mac_last)
{
	static const uint8_t mac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x00 };

	memset(p, 0, sizeof(*p));
	p->rundir = rundir;
	p->iface = "test0";
	p->ifindex = IFINDEX;
	p->addr = ADDR;
	memcpy(p->mac, mac, 6);
	p->mac[5] = mac_last;
}

/* Join as this test process; mac_out's last byte returned. */
static struct host *join(uint8_t mac_last, uint8_t *mac_out_last)
{
	struct host_params p;
	struct host *h = NULL;
	uint8_t mac[6];
	char err[256] = "";
	int e;

	params_for(&p, mac_last);
	e = host_join(&p, &h, mac, err, sizeof(err));
	if (e == -EPERM)
		ck_abort_msg("host_join: %s: this suite needs root (or CAP_BPF) for the "
			     "steering maps", err);
	ck_assert_msg(e == 0, "host_join: %s (%s)", strerror(-e), err);
	for (int i = 0; i < MINE_MAX; i++)
		if (!mine[i]) {
			mine[i] = h;
			break;
		}
	if (mac_out_last)
		*mac_out_last = mac[5];
	return h;
}

static void forget_mine(void)
{
	for (int i = 0; i < MINE_MAX; i++)
		if (mine[i]) {
			host_forget(mine[i]);
			mine[i] = NULL;
		}
}

static void setup(void)
{
	strcpy(rundir, "/tmp/mtcp-host-XXXXXX");
	ck_assert_msg(mkdtemp(rundir) != NULL, "mkdtemp: %s", strerror(errno));
	memset(mine, 0, sizeof(mine));
	memset(kids, 0, sizeof(kids));
}

static void teardown(void)
{
	DIR *d = opendir(rundir);
	struct dirent *e;
	char path[PATH_MAX];

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' || (e->d_name[1] && strcmp(e->d_name, ".."))) {
			snprintf(path, sizeof(path), "%s/%s", rundir, e->d_name);
			unlink(path);
		}
	if (d)
		closedir(d);
	rmdir(rundir);
}

/* ---- kids ----------------------------------------------------------- */

enum op {
	OP_JOIN, OP_BIND, OP_UNBIND, OP_LISTEN, OP_ACTIVATE, OP_FLOW_ADD, OP_FLOW_DEL,
	OP_OWNED, OP_IS_DEFAULT, OP_MEMBER, OP_HOLD_LOCK, OP_LEAVE, OP_SETEUID, OP_PUT,
	OP_H_NEW, OP_H_JOIN, OP_H_HOLD, OP_H_DROP, OP_H_PICK, OP_H_OWNER, OP_H_HOLDERS,
	OP_KEEPER_CLAIM, OP_KEEPER, OP_MAIL_FD_SEND, OP_MAIL_FD_RECV, OP_H_BY_EFD,
};

struct req {
	int op;
	uint8_t proto;
	uint16_t port;
	unsigned flags;         /* OP_LISTEN: on; OP_JOIN: mac_last; OP_SETEUID: uid */
	uint32_t raddr;
	uint16_t rport;
	struct steer_port v;    /* OP_PUT */
	uint64_t id;            /* OP_H_* */
	uint64_t grace;         /* OP_H_HOLD; OP_H_BY_EFD: the eventfd id */
	char data[32];          /* OP_MAIL_FD_SEND: the memfd's contents */
};

struct rep {
	int ret;
	uint8_t mac_last;
	uint64_t id;            /* OP_H_NEW */
	char data[32];          /* OP_MAIL_FD_RECV: the message, then the memfd's */
};

struct kid {
	pid_t pid;
	int cmd;                /* test -> kid */
	int rep;                /* kid -> test */
};

/* Mail "fd" to member with a memfd holding data. */
static int mail_memfd_send(struct host *h, uint16_t member, const char *data)
{
	int fd, e;

	if (!data)
		return -EINVAL;
	if ((fd = memfd_create("test_host", MFD_CLOEXEC)) < 0)
		return -errno;
	if (write(fd, data, strlen(data) + 1) != (ssize_t)strlen(data) + 1) {
		close(fd);
		return -EIO;
	}
	e = host_mail_send_fd(h, member, "fd", 3, fd);
	close(fd);              /* the receiver has its own */
	return e;
}

/* Wait up to 5 s for a datagram with a descriptor: data gets its
 * message, then what the descriptor's file holds from offset 0. The
 * length of the message, -ENOENT if no descriptor came, -EBADF if it
 * came without FD_CLOEXEC, -ETIMEDOUT. */
static int mail_memfd_recv(struct host *h, char *data)
{
	struct pollfd pfd = { .fd = host_mailbox_fd(h), .events = POLLIN };
	char msg[16] = "";
	ssize_t n;
	int fd, ret;

	if (poll(&pfd, 1, 5000) != 1)
		return -ETIMEDOUT;
	n = host_mail_recv_fd(h, msg, sizeof(msg) - 1, &fd);
	if (n < 0)
		return (int)n;
	if (fd < 0)
		return -ENOENT;
	ret = (fcntl(fd, F_GETFD) & FD_CLOEXEC) ? (int)n : -EBADF;
	memset(data, 0, 32);
	if (pread(fd, data, 31, 0) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static struct rep kid_exec(struct host **h, const struct req *q)
{
	struct rep r = { 0 };
	struct host_params p;
	uint8_t mac[6];
	char err[256];

	switch (q->op) {
	case OP_JOIN:
		params_for(&p, (uint8_t)q->flags);
		r.ret = host_join(&p, h, mac, err, sizeof(err));
		r.mac_last = mac[5];
		if (r.ret)
			fprintf(stderr, "kid %d: host_join: %s\n", (int)getpid(), err);
		break;
	case OP_BIND: r.ret = host_bind(*h, q->proto, q->port, q->flags); break;
	case OP_UNBIND: host_unbind(*h, q->proto, q->port, q->flags); break;
	case OP_LISTEN: r.ret = host_listen(*h, q->proto, q->port, q->flags); break;
	case OP_ACTIVATE: r.ret = host_activate(*h, q->proto, q->port); break;
	case OP_FLOW_ADD:
		r.ret = host_flow_add(*h, q->proto, q->port, q->raddr, q->rport);
		break;
	case OP_FLOW_DEL: host_flow_del(*h, q->proto, q->port, q->raddr, q->rport); break;
	case OP_OWNED:
		r.ret = host_owned_elsewhere(*h, q->proto, q->port, q->raddr, q->rport);
		break;
	case OP_IS_DEFAULT: r.ret = host_is_default(*h); break;
	case OP_MEMBER: r.ret = host_member(*h); break;
	case OP_HOLD_LOCK: r.ret = host_test_hold_lock(*h); break;
	case OP_LEAVE: host_leave(*h); *h = NULL; break;
	case OP_SETEUID: r.ret = seteuid((uid_t)q->flags) ? -errno : 0; break;
	case OP_PUT:
		r.ret = steer_port_put(host_steer(*h), q->proto, htons(q->port), &q->v);
		break;
	case OP_H_NEW: r.ret = host_handle_new(*h, &r.id); break;
	case OP_H_JOIN: r.ret = host_handle_join(*h, q->id); break;
	case OP_H_HOLD: r.ret = host_handle_hold(*h, q->id, q->grace); break;
	case OP_H_DROP: r.ret = host_handle_drop(*h, q->id); break;
	case OP_H_PICK: r.ret = host_handle_pick_holder(*h, q->id); break;
	case OP_H_OWNER: r.ret = host_handle_owner(*h, q->id); break;
	case OP_H_HOLDERS: r.ret = host_handle_holders(*h, q->id); break;
	case OP_H_BY_EFD: r.ret = host_handle_by_efd(*h, q->grace, &r.id); break;
	case OP_KEEPER_CLAIM: r.ret = host_keeper_claim(*h); break;
	case OP_KEEPER: r.ret = host_keeper(*h); break;
	case OP_MAIL_FD_SEND: r.ret = mail_memfd_send(*h, q->port, q->data); break;
	case OP_MAIL_FD_RECV: r.ret = mail_memfd_recv(*h, r.data); break;
	}
	return r;
}

/* The kid's life: commands until the test closes the pipe (or dies). */
static void kid_main(int cmd, int rep)
{
	struct host *h = NULL;
	struct req q;
	struct rep r;

	while (read(cmd, &q, sizeof(q)) == (ssize_t)sizeof(q)) {
		r = kid_exec(&h, &q);
		if (write(rep, &r, sizeof(r)) != (ssize_t)sizeof(r))
			break;
	}
	_exit(0);
}

static void kids_track(struct kid *k, bool on)
{
	for (int i = 0; i < KIDS_MAX; i++)
		if (on ? !kids[i] : kids[i] == k) {
			kids[i] = on ? k : NULL;
			return;
		}
	ck_abort_msg("more than %d kids", KIDS_MAX);
}

static void kid_start(struct kid *k)
{
	int c[2], r[2];

	ck_assert(pipe(c) == 0 && pipe(r) == 0);
	k->pid = fork();
	ck_assert_msg(k->pid >= 0, "fork: %s", strerror(errno));
	if (k->pid == 0) {
		/* The preload's child does the same: what it inherited of
		 * the parent's membership is not its own. */
		forget_mine();
		for (int i = 0; i < KIDS_MAX; i++)
			if (kids[i]) {
				close(kids[i]->cmd);
				close(kids[i]->rep);
			}
		close(c[1]);
		close(r[0]);
		kid_main(c[0], r[1]);
	}
	close(c[0]);
	close(r[1]);
	k->cmd = c[1];
	k->rep = r[0];
	kids_track(k, true);
}

static void kid_send(struct kid *k, const struct req *q)
{
	ck_assert_msg(write(k->cmd, q, sizeof(*q)) == (ssize_t)sizeof(*q),
		      "kid %d: command %d not sent", (int)k->pid, q->op);
}

static struct rep kid_recv(struct kid *k, int op)
{
	struct pollfd pfd = { .fd = k->rep, .events = POLLIN };
	struct rep r;

	ck_assert_msg(poll(&pfd, 1, 10000) == 1, "kid %d: no reply to command %d in 10 s",
		      (int)k->pid, op);
	ck_assert_msg(read(k->rep, &r, sizeof(r)) == (ssize_t)sizeof(r),
		      "kid %d died running command %d", (int)k->pid, op);
	return r;
}

static struct rep kid_call(struct kid *k, struct req q)
{
	kid_send(k, &q);
	return kid_recv(k, q.op);
}

/* A kid that has joined; its mac_out's last byte in *mac_last. */
static void kid_join(struct kid *k, uint8_t mac_last, uint8_t *mac_out_last)
{
	kid_start(k);
	struct rep r = kid_call(k, (struct req){ .op = OP_JOIN, .flags = mac_last });
	if (r.ret == -EPERM)
		ck_abort_msg("kid's host_join: EPERM: this suite needs root (or CAP_BPF) "
			     "for the steering maps");
	ck_assert_msg(r.ret == 0, "kid's host_join: %s", strerror(-r.ret));
	if (mac_out_last)
		*mac_out_last = r.mac_last;
}

static int kid_bind(struct kid *k, uint8_t proto, uint16_t port, unsigned flags)
{
	return kid_call(k, (struct req){ .op = OP_BIND, .proto = proto, .port = port,
					 .flags = flags }).ret;
}

static void kid_unbind(struct kid *k, uint8_t proto, uint16_t port, unsigned flags)
{
	kid_call(k, (struct req){ .op = OP_UNBIND, .proto = proto, .port = port,
				  .flags = flags });
}

static int kid_listen(struct kid *k, uint8_t proto, uint16_t port, bool on)
{
	return kid_call(k, (struct req){ .op = OP_LISTEN, .proto = proto, .port = port,
					 .flags = on }).ret;
}

static int kid_simple(struct kid *k, int op)
{
	return kid_call(k, (struct req){ .op = op }).ret;
}

static int kid_flow(struct kid *k, int op, uint16_t lport, uint32_t raddr, uint16_t rport)
{
	return kid_call(k, (struct req){ .op = op, .proto = TCP, .port = lport,
					 .raddr = raddr, .rport = rport }).ret;
}

static void kid_kill(struct kid *k)
{
	int st;

	kill(k->pid, SIGKILL);
	ck_assert(waitpid(k->pid, &st, 0) == k->pid);
	close(k->cmd);
	close(k->rep);
	kids_track(k, false);
}

/* Close its pipe: it exits as a process that never left would. */
static void kid_end(struct kid *k)
{
	int st;

	close(k->cmd);
	ck_assert(waitpid(k->pid, &st, 0) == k->pid);
	close(k->rep);
	kids_track(k, false);
}

/* ---- looking at the maps -------------------------------------------- */

static int port_get(struct host *h, uint8_t proto, uint16_t port, struct steer_port *v)
{
	return steer_port_get(host_steer(h), proto, htons(port), v);
}

static const struct steer_holder *holder_of(const struct steer_port *v, uint16_t m)
{
	for (unsigned i = 0; i < v->nholders; i++)
		if (v->h[i].member == m)
			return &v->h[i];
	return NULL;
}

static int flow_get(struct host *h, uint16_t lport, uint32_t raddr, uint16_t rport,
		    uint16_t *m)
{
	struct steer_flow k = { .raddr = htonl(raddr), .rport = htons(rport),
				.lport = htons(lport), .proto = TCP };

	return steer_flow_get(host_steer(h), &k, m);
}

static struct host_stats stats(struct host *h)
{
	struct host_stats s;

	host_get_stats(h, &s);
	return s;
}

static void reg_path(char *path, size_t len)
{
	struct stat st;

	ck_assert(stat("/proc/self/ns/net", &st) == 0);
	snprintf(path, len, "%s/net%llu.%d.10.99.0.1", rundir, (unsigned long long)st.st_ino,
		 IFINDEX);
}

static unsigned files_in_rundir(void)
{
	DIR *d = opendir(rundir);
	struct dirent *e;
	unsigned n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* ---- join ----------------------------------------------------------- */

START_TEST(test_first_join_creates_registry_file_and_maps_and_is_default)
{
	char path[PATH_MAX];
	struct steer_port v;
	struct stat st;
	uint8_t mac;
	struct host *h = join(0x11, &mac);

	reg_path(path, sizeof(path));
	ck_assert_msg(stat(path, &st) == 0, "no registry at %s: %s", path, strerror(errno));
	ck_assert_msg(files_in_rundir() == 1, "%u files in the registry directory, not 1 "
		      "(a temporary file left?)", files_in_rundir());
	ck_assert_uint_eq(host_member(h), 1);
	ck_assert_msg(host_is_default(h), "the first member is not the default");
	ck_assert_uint_eq(mac, 0x11);
	ck_assert_ptr_nonnull(host_steer(h));
	ck_assert_int_eq(port_get(h, TCP, 80, &v), -ENOENT);
	ck_assert_int_eq(host_bind(h, TCP, 80, 0), 0);
	ck_assert_int_eq(port_get(h, TCP, 80, &v), 0);
	ck_assert_uint_eq(v.nholders, 1);
	ck_assert_uint_eq(v.h[0].member, 1);
	ck_assert_uint_eq(v.h[0].refs, 1);
	ck_assert_uint_eq(v.h[0].uid, geteuid());
	ck_assert_uint_eq(stats(h).members, 1);
	ck_assert_uint_eq(stats(h).default_member, 1);
	host_leave(h);
}
END_TEST

START_TEST(test_second_member_shares_mac_and_maps_and_is_not_default)
{
	struct host *h = join(0x11, NULL);
	struct steer_port v;
	struct kid k;
	uint8_t mac;

	kid_join(&k, 0x22, &mac);
	ck_assert_msg(mac == 0x11, "the second member got MAC ..:%02x, not the registry's "
		      "..:11", mac);
	ck_assert_int_eq(kid_simple(&k, OP_MEMBER), 2);
	ck_assert_int_eq(kid_simple(&k, OP_IS_DEFAULT), 0);
	ck_assert(host_is_default(h));
	ck_assert_uint_eq(stats(h).members, 2);
	/* The kid's bind is in the maps this process reads. */
	ck_assert_int_eq(kid_bind(&k, TCP, 8080, 0), 0);
	ck_assert_int_eq(port_get(h, TCP, 8080, &v), 0);
	ck_assert_msg(holder_of(&v, 2) && v.nholders == 1,
		      "the kid's bind is not in the maps the first member sees");
	kid_end(&k);
	host_leave(h);
}
END_TEST

START_TEST(test_registry_of_another_version_is_refused_with_eproto)
{
	struct host_params p;
	char path[PATH_MAX], err[256] = "", junk[65536];
	struct host *h;
	uint8_t mac[6];
	int fd;

	reg_path(path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	ck_assert(fd >= 0);
	memset(junk, 0x5a, sizeof(junk));
	ck_assert(write(fd, junk, sizeof(junk)) == (ssize_t)sizeof(junk));
	close(fd);
	params_for(&p, 1);
	ck_assert_int_eq(host_join(&p, &h, mac, err, sizeof(err)), -EPROTO);
	ck_assert_ptr_null(h);
	ck_assert_msg(strstr(err, path) && strstr(err, "remove"),
		      "the message does not name the file and the way out: \"%s\"", err);
}
END_TEST

/* A file of version 1 (a layout with no handles): the magic of ours. */
static void old_registry(const char *path)
{
	struct {
		uint64_t magic;
		uint32_t version, size;
	} hdr = { 0x6d74637072656731ULL, 1, 4096 };
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);

	ck_assert(fd >= 0);
	ck_assert(ftruncate(fd, 65536) == 0);
	ck_assert(pwrite(fd, &hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr));
	close(fd);
}

START_TEST(test_registry_of_an_older_version_is_replaced_when_nobody_uses_it)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 65536,
			    .l_len = 1 };
	struct host_params p;
	char path[PATH_MAX], err[256] = "";
	struct host *h;
	uint8_t mac[6];
	int fd;

	reg_path(path, sizeof(path));
	old_registry(path);
	/* A member of the old version lives: its byte is locked. */
	fd = open(path, O_RDWR);
	ck_assert(fd >= 0 && fcntl(fd, F_OFD_SETLK, &fl) == 0);
	params_for(&p, 1);
	ck_assert_int_eq(host_join(&p, &h, mac, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "remove"), "no way out in \"%s\"", err);
	close(fd);
	/* Gone: the file is ours to replace. */
	h = join(1, NULL);
	ck_assert_uint_eq(host_member(h), 1);
	ck_assert_msg(files_in_rundir() == 1, "%u files in the registry directory",
		      files_in_rundir());
	uint64_t id;
	ck_assert_int_eq(host_handle_new(h, &id), 0);
	host_leave(h);
}
END_TEST

START_TEST(test_null_host_does_nothing_and_succeeds)
{
	struct host_stats s;

	ck_assert_int_eq(host_bind(NULL, TCP, 80, 0), 0);
	ck_assert_int_eq(host_listen(NULL, TCP, 80, true), 0);
	ck_assert_int_eq(host_activate(NULL, TCP, 80), 0);
	ck_assert_int_eq(host_flow_add(NULL, TCP, 80, RADDR, 1), 0);
	ck_assert_int_eq(host_attach(NULL, 0, false), 0);
	ck_assert(host_is_default(NULL));
	ck_assert(!host_owned_elsewhere(NULL, TCP, 80, RADDR, 1));
	host_unbind(NULL, TCP, 80, 0);
	host_flow_del(NULL, TCP, 80, RADDR, 1);
	host_tick(NULL, 1);
	host_get_stats(NULL, &s);
	ck_assert_uint_eq(s.member, 0);
	host_leave(NULL);
	host_forget(NULL);
}
END_TEST

/* ---- bind rules ----------------------------------------------------- */

START_TEST(test_bind_of_a_port_another_process_holds_is_eaddrinuse)
{
	struct host *h = join(1, NULL);
	struct kid k;

	kid_join(&k, 2, NULL);
	ck_assert_int_eq(host_bind(h, TCP, 8080, 0), 0);
	ck_assert_int_eq(kid_bind(&k, TCP, 8080, 0), -EADDRINUSE);
	ck_assert_int_eq(kid_bind(&k, TCP, 8080, HOST_REUSEADDR), -EADDRINUSE);
	ck_assert_msg(kid_bind(&k, UDP, 8080, 0) == 0, "UDP 8080 is not TCP 8080's");
	ck_assert_int_eq(kid_bind(&k, TCP, 8081, 0), 0);
	ck_assert_int_eq(host_bind(h, TCP, 8081, 0), -EADDRINUSE);
	ck_assert_uint_eq(stats(h).conflicts, 1);
	/* Within one member the stack keeps its own rules: a second socket
	 * of ours is one more reference, never a conflict. */
	ck_assert_int_eq(host_bind(h, TCP, 8080, 0), 0);
	kid_end(&k);
	host_leave(h);
}
END_TEST

START_TEST(test_reuseport_on_both_sides_shares_a_port_for_one_uid)
{
	struct host *h = join(1, NULL);
	struct kid k, k2;
	struct steer_port v;

	kid_join(&k, 2, NULL);
	kid_join(&k2, 3, NULL);
	ck_assert_int_eq(host_bind(h, TCP, 8080, HOST_REUSEPORT), 0);
	ck_assert_int_eq(kid_bind(&k, TCP, 8080, HOST_REUSEPORT), 0);
	ck_assert_int_eq(port_get(h, TCP, 8080, &v), 0);
	ck_assert_uint_eq(v.nholders, 2);
	ck_assert_msg(kid_bind(&k2, TCP, 8080, 0) == -EADDRINUSE,
		      "a bind without SO_REUSEPORT joined a SO_REUSEPORT group");
	ck_assert_msg(kid_bind(&k2, TCP, 8080, HOST_REUSEADDR) == -EADDRINUSE,
		      "SO_REUSEADDR alone joined holders without it");
	/* The other way round: the holder lacks it. */
	ck_assert_int_eq(host_bind(h, TCP, 8090, 0), 0);
	ck_assert_int_eq(kid_bind(&k, TCP, 8090, HOST_REUSEPORT), -EADDRINUSE);
	/* Another effective uid may not join the group. */
	ck_assert_int_eq(kid_call(&k2, (struct req){ .op = OP_SETEUID, .flags = 65534 }).ret, 0);
	ck_assert_msg(kid_bind(&k2, TCP, 8080, HOST_REUSEPORT) == -EADDRINUSE,
		      "uid 65534 joined uid %u's SO_REUSEPORT group", (unsigned)geteuid());
	ck_assert_int_eq(kid_call(&k2, (struct req){ .op = OP_SETEUID, .flags = 0 }).ret, 0);
	ck_assert_int_eq(kid_bind(&k2, TCP, 8080, HOST_REUSEPORT), 0);
	kid_end(&k);
	kid_end(&k2);
	host_leave(h);
}
END_TEST

START_TEST(test_reuseaddr_on_both_sides_shares_a_port_unless_the_other_listens)
{
	struct host *h = join(1, NULL);
	struct kid k;

	kid_join(&k, 2, NULL);
	ck_assert_int_eq(host_bind(h, TCP, 8080, HOST_REUSEADDR), 0);
	ck_assert_int_eq(kid_bind(&k, TCP, 8080, HOST_REUSEADDR), 0);
	kid_unbind(&k, TCP, 8080, HOST_REUSEADDR);
	ck_assert_int_eq(host_listen(h, TCP, 8080, true), 0);
	ck_assert_msg(kid_bind(&k, TCP, 8080, HOST_REUSEADDR) == -EADDRINUSE,
		      "SO_REUSEADDR bound a port another process listens on");
	ck_assert_int_eq(host_listen(h, TCP, 8080, false), 0);
	ck_assert_int_eq(kid_bind(&k, TCP, 8080, HOST_REUSEADDR), 0);
	/* Both bound: the first to listen wins, the second's listen fails
	 * (Linux checks the port again at listen). */
	ck_assert_int_eq(host_listen(h, TCP, 8080, true), 0);
	ck_assert_int_eq(kid_listen(&k, TCP, 8080, true), -EADDRINUSE);
	kid_end(&k);
	host_leave(h);
}
END_TEST

START_TEST(test_inherited_bind_never_conflicts)
{
	struct host *h = join(1, NULL);
	struct steer_port v;
	struct kid k, k2;

	ck_assert_int_eq(host_bind(h, TCP, 80, 0), 0);
	ck_assert_int_eq(host_listen(h, TCP, 80, true), 0);
	kid_join(&k, 2, NULL);
	ck_assert_int_eq(kid_bind(&k, TCP, 80, HOST_INHERITED), 0);
	ck_assert_int_eq(kid_listen(&k, TCP, 80, true), 0);
	ck_assert_int_eq(port_get(h, TCP, 80, &v), 0);
	ck_assert_uint_eq(v.nholders, 2);
	ck_assert_uint_eq(holder_of(&v, 2)->listening, 1);
	kid_join(&k2, 3, NULL);
	ck_assert_int_eq(kid_bind(&k2, TCP, 80, 0), -EADDRINUSE);
	kid_end(&k);
	kid_end(&k2);
	host_leave(h);
}
END_TEST

START_TEST(test_unbind_frees_the_port_at_the_last_reference)
{
	struct host *h = join(1, NULL);
	struct steer_port v;
	struct kid k;

	kid_join(&k, 2, NULL);
	ck_assert_int_eq(host_bind(h, TCP, 8080, 0), 0);
	ck_assert_int_eq(host_bind(h, TCP, 8080, HOST_REUSEADDR), 0);
	host_unbind(h, TCP, 8080, 0);
	ck_assert_int_eq(port_get(h, TCP, 8080, &v), 0);
	ck_assert_uint_eq(v.h[0].refs, 1);
	ck_assert_uint_eq(v.h[0].no_reuseaddr, 0);
	ck_assert_int_eq(kid_bind(&k, TCP, 8080, 0), -EADDRINUSE);
	host_unbind(h, TCP, 8080, HOST_REUSEADDR);
	ck_assert_msg(port_get(h, TCP, 8080, &v) == -ENOENT,
		      "the entry outlived its last holder");
	ck_assert_int_eq(kid_bind(&k, TCP, 8080, 0), 0);
	kid_end(&k);
	host_leave(h);
}
END_TEST

START_TEST(test_concurrent_binds_of_one_port_in_many_processes_one_wins)
{
	enum { NKIDS = 6, ROUNDS = 40 };
	struct host *h = join(1, NULL);
	struct kid k[NKIDS];

	for (int i = 0; i < NKIDS; i++)
		kid_join(&k[i], (uint8_t)(2 + i), NULL);
	for (int round = 0; round < ROUNDS; round++) {
		const struct req q = { .op = OP_BIND, .proto = TCP, .port = 7000 };
		const struct req u = { .op = OP_UNBIND, .proto = TCP, .port = 7000 };
		int won = -1;

		for (int i = 0; i < NKIDS; i++)
			kid_send(&k[i], &q);
		for (int i = 0; i < NKIDS; i++) {
			int r = kid_recv(&k[i], q.op).ret;

			ck_assert_msg(r == 0 || r == -EADDRINUSE, "round %d: kid %d: %s", round,
				      i, strerror(-r));
			ck_assert_msg(r != 0 || won < 0, "round %d: kids %d and %d both bound "
				      "port 7000", round, won, i);
			if (r == 0)
				won = i;
		}
		ck_assert_msg(won >= 0, "round %d: nobody bound port 7000", round);
		ck_assert_int_eq(host_bind(h, TCP, 7000, 0), -EADDRINUSE);
		kid_call(&k[won], u);
	}
	ck_assert_int_eq(host_bind(h, TCP, 7000, 0), 0);
	for (int i = 0; i < NKIDS; i++)
		kid_end(&k[i]);
	host_leave(h);
}
END_TEST

/* ---- liveness ------------------------------------------------------- */

START_TEST(test_killed_member_is_reaped_by_tick_ports_flows_and_default)
{
	const uint64_t t0 = 1000000;
	struct steer_port v;
	struct kid k;
	uint16_t m;

	kid_join(&k, 1, NULL);          /* first: the default */
	struct host *h = join(2, NULL);
	ck_assert(!host_is_default(h));
	ck_assert_int_eq(kid_bind(&k, TCP, 8080, 0), 0);
	ck_assert_int_eq(kid_flow(&k, OP_FLOW_ADD, 8080, RADDR, 5555), 0);
	ck_assert(host_owned_elsewhere(h, TCP, 8080, RADDR, 5555));
	host_tick(h, t0);               /* the sweep's clock starts */
	kid_kill(&k);
	host_tick(h, t0 + 1);
	ck_assert_msg(stats(h).dead_reaped == 0, "tick looked again before HOST_SWEEP_US");
	host_tick(h, t0 + HOST_SWEEP_US + 1);
	ck_assert_uint_eq(stats(h).dead_reaped, 1);
	ck_assert_uint_eq(stats(h).members, 1);
	ck_assert_msg(port_get(h, TCP, 8080, &v) == -ENOENT, "the dead member's port is held");
	/* Its TCP flow is the sweeper's now, for its stack to reset the
	 * peer (tcp_dead.c), which deletes it when done. */
	ck_assert_msg(flow_get(h, 8080, RADDR, 5555, &m) == 0 && m == host_member(h),
		      "the dead member's flow was not taken by the sweeper");
	struct host_flow fl[4];
	ck_assert_uint_eq(host_taken(h, fl, 4), 1);
	ck_assert(fl[0].lport == 8080 && fl[0].raddr == RADDR && fl[0].rport == 5555);
	ck_assert_uint_eq(host_taken(h, fl, 4), 0);
	host_flow_del(h, TCP, 8080, RADDR, 5555);
	ck_assert(!host_owned_elsewhere(h, TCP, 8080, RADDR, 5555));
	ck_assert_msg(host_is_default(h), "the default did not move off the dead member");
	ck_assert_int_eq(host_bind(h, TCP, 8080, 0), 0);
	ck_assert_uint_eq(stats(h).conflicts, 0);
	host_leave(h);
}
END_TEST

START_TEST(test_bind_reaps_a_dead_holder_at_once)
{
	struct host *h = join(1, NULL);
	struct kid k;

	kid_join(&k, 2, NULL);
	ck_assert_int_eq(kid_bind(&k, TCP, 8080, 0), 0);
	kid_kill(&k);
	ck_assert_msg(host_bind(h, TCP, 8080, 0) == 0,
		      "a port a dead process held is not free before the next tick");
	ck_assert_uint_eq(stats(h).dead_reaped, 1);
	ck_assert_uint_eq(stats(h).conflicts, 0);
	host_leave(h);
}
END_TEST

START_TEST(test_join_after_every_member_died_starts_afresh)
{
	struct steer_port v;
	struct kid k;
	uint8_t mac;
	uint16_t m;

	kid_join(&k, 0x0a, &mac);
	ck_assert_uint_eq(mac, 0x0a);
	ck_assert_int_eq(kid_bind(&k, TCP, 8080, 0), 0);
	ck_assert_int_eq(kid_flow(&k, OP_FLOW_ADD, 8080, RADDR, 5555), 0);
	kid_kill(&k);
	struct host *h = join(0x0b, &mac);
	ck_assert_msg(mac == 0x0b, "the dead registry's MAC ..:%02x was kept", mac);
	ck_assert_uint_eq(host_member(h), 1);
	ck_assert(host_is_default(h));
	ck_assert_msg(port_get(h, TCP, 8080, &v) == -ENOENT &&
		      flow_get(h, 8080, RADDR, 5555, &m) == -ENOENT,
		      "the new member sees the dead members' maps");
	ck_assert_int_eq(host_bind(h, TCP, 8080, 0), 0);
	ck_assert_uint_eq(stats(h).dead_reaped, 0);
	ck_assert_uint_eq(stats(h).members, 1);
	host_leave(h);
}
END_TEST

START_TEST(test_member_killed_holding_the_lock_is_repaired_by_the_next_call)
{
	struct host *h = join(1, NULL);
	struct steer_port v, junk;
	struct kid k, k2;

	ck_assert_int_eq(host_bind(h, TCP, 9000, HOST_REUSEPORT), 0);
	ck_assert_int_eq(host_activate(h, TCP, 9000), 0);
	kid_join(&k, 2, NULL);
	ck_assert_int_eq(kid_bind(&k, TCP, 8080, 0), 0);
	/* The kid dies in the middle of a change: a ports entry half
	 * written (a holder of a member that does not exist, active[]
	 * naming it), the lock held. */
	ck_assert_int_eq(port_get(h, TCP, 9000, &junk), 0);
	junk.h[1] = junk.h[0];
	junk.h[1].member = 77;
	junk.nholders = 2;
	junk.active[0] = 77;
	junk.active[1] = 1;
	junk.nactive = 2;
	ck_assert_int_eq(kid_call(&k, (struct req){ .op = OP_PUT, .proto = TCP,
						    .port = 9000, .v = junk }).ret, 0);
	ck_assert_int_eq(kid_simple(&k, OP_HOLD_LOCK), 0);
	kid_kill(&k);
	ck_assert_msg(host_bind(h, TCP, 8080, 0) == 0,
		      "the dead lock owner's port is still held after the repair");
	ck_assert_uint_eq(stats(h).lock_repairs, 1);
	ck_assert_uint_eq(stats(h).dead_reaped, 1);
	ck_assert_int_eq(port_get(h, TCP, 9000, &v), 0);
	ck_assert_msg(v.nholders == 1 && v.h[0].member == 1 && v.nactive == 1 &&
		      v.active[0] == 1, "the half-written entry was not rewritten: %u "
		      "holders, %u active (first %u)", v.nholders, v.nactive, v.active[0]);
	/* Repaired once: the lock works again, for everyone. */
	ck_assert_int_eq(host_bind(h, TCP, 8081, 0), 0);
	ck_assert_uint_eq(stats(h).lock_repairs, 1);
	kid_join(&k2, 3, NULL);
	ck_assert_int_eq(kid_bind(&k2, TCP, 8081, 0), -EADDRINUSE);
	ck_assert_int_eq(kid_bind(&k2, TCP, 8082, 0), 0);
	kid_end(&k2);
	host_leave(h);
}
END_TEST

START_TEST(test_leave_frees_ports_and_flows_and_moves_the_default)
{
	struct steer_port v;
	struct kid k;
	uint16_t m;

	kid_join(&k, 1, NULL);
	struct host *h = join(2, NULL);
	ck_assert_int_eq(kid_bind(&k, TCP, 8080, 0), 0);
	ck_assert_int_eq(kid_flow(&k, OP_FLOW_ADD, 8080, RADDR, 5555), 0);
	kid_simple(&k, OP_LEAVE);
	ck_assert_msg(host_is_default(h), "the default did not move when it left");
	ck_assert_int_eq(port_get(h, TCP, 8080, &v), -ENOENT);
	ck_assert_int_eq(flow_get(h, 8080, RADDR, 5555, &m), -ENOENT);
	ck_assert_uint_eq(stats(h).members, 1);
	ck_assert_int_eq(host_bind(h, TCP, 8080, 0), 0);
	kid_end(&k);
	host_leave(h);
}
END_TEST

START_TEST(test_forget_in_a_child_leaves_the_parents_membership_alone)
{
	struct host *h = join(1, NULL);
	struct kid k;
	pid_t pid;
	int st;

	ck_assert_int_eq(host_bind(h, TCP, 8080, 0), 0);
	pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		host_forget(h);
		_exit(0);
	}
	ck_assert(waitpid(pid, &st, 0) == pid);
	host_tick(h, 1);
	ck_assert_uint_eq(stats(h).dead_reaped, 0);
	ck_assert_uint_eq(stats(h).members, 1);
	kid_join(&k, 2, NULL);
	ck_assert_msg(kid_bind(&k, TCP, 8080, 0) == -EADDRINUSE,
		      "the child's host_forget let the parent's port go");
	kid_end(&k);
	host_leave(h);
}
END_TEST

/* ---- accept groups, owners ----------------------------------------- */

START_TEST(test_activate_adds_a_member_to_active_once_and_unbind_removes_it)
{
	struct host *h = join(1, NULL);
	struct steer_port v;
	struct kid k;

	kid_join(&k, 2, NULL);
	ck_assert_int_eq(host_activate(h, TCP, 8080), -ENOENT);
	ck_assert_int_eq(host_bind(h, TCP, 8080, HOST_REUSEPORT), 0);
	ck_assert_int_eq(kid_bind(&k, TCP, 8080, HOST_REUSEPORT), 0);
	ck_assert_int_eq(port_get(h, TCP, 8080, &v), 0);
	ck_assert_uint_eq(v.nactive, 0);
	ck_assert_int_eq(host_activate(h, TCP, 8080), 0);
	ck_assert_int_eq(host_activate(h, TCP, 8080), 0);
	ck_assert_int_eq(port_get(h, TCP, 8080, &v), 0);
	ck_assert_msg(v.nactive == 1 && v.active[0] == 1, "after two activations: %u "
		      "active, first %u", v.nactive, v.active[0]);
	ck_assert(holder_of(&v, 1)->flags & STEER_H_ACTIVE);
	ck_assert_int_eq(kid_call(&k, (struct req){ .op = OP_ACTIVATE, .proto = TCP,
						    .port = 8080 }).ret, 0);
	ck_assert_int_eq(port_get(h, TCP, 8080, &v), 0);
	ck_assert_msg(v.nactive == 2 && v.active[0] == 1 && v.active[1] == 2,
		      "active[] is not 1, 2: %u active", v.nactive);
	kid_unbind(&k, TCP, 8080, HOST_REUSEPORT);
	ck_assert_int_eq(port_get(h, TCP, 8080, &v), 0);
	ck_assert_msg(v.nholders == 1 && v.nactive == 1 && v.active[0] == 1,
		      "after the kid's unbind: %u holders, %u active", v.nholders, v.nactive);
	ck_assert_uint_eq(steer_pick(&v, htonl(RADDR), htons(5555)), 1);
	/* Our holder gone and back: activated afresh, not from a memory. */
	host_unbind(h, TCP, 8080, HOST_REUSEPORT);
	ck_assert_int_eq(host_bind(h, TCP, 8080, HOST_REUSEPORT), 0);
	ck_assert_int_eq(port_get(h, TCP, 8080, &v), 0);
	ck_assert_uint_eq(v.nactive, 0);
	ck_assert_int_eq(host_activate(h, TCP, 8080), 0);
	ck_assert_int_eq(port_get(h, TCP, 8080, &v), 0);
	ck_assert_uint_eq(v.nactive, 1);
	kid_end(&k);
	host_leave(h);
}
END_TEST

START_TEST(test_owned_elsewhere_sees_other_members_flows_and_ports)
{
	struct host *h = join(1, NULL);
	struct kid k;
	uint16_t m;

	kid_join(&k, 2, NULL);
	ck_assert_int_eq(host_bind(h, TCP, 80, 0), 0);
	/* A flow of the kid's on our port. */
	ck_assert_int_eq(kid_flow(&k, OP_FLOW_ADD, 80, RADDR, 40000), 0);
	ck_assert_int_eq(flow_get(h, 80, RADDR, 40000, &m), 0);
	ck_assert_uint_eq(m, 2);
	ck_assert(host_owned_elsewhere(h, TCP, 80, RADDR, 40000));
	ck_assert(!host_owned_elsewhere(h, TCP, 80, RADDR, 40001));
	/* The kid's own entry counts too: asked, it has no connection for
	 * it, so it is one moving there (tcp_migrate.c): not to reset. */
	ck_assert_int_eq(kid_flow(&k, OP_OWNED, 80, RADDR, 40000), 1);
	ck_assert_msg(kid_flow(&k, OP_OWNED, 80, RADDR, 40001) == 1,
		      "the kid does not see our port as someone else's");
	kid_flow(&k, OP_FLOW_DEL, 80, RADDR, 40000);
	ck_assert(!host_owned_elsewhere(h, TCP, 80, RADDR, 40000));
	/* A port of the kid's alone, and one of nobody's. */
	ck_assert_int_eq(kid_bind(&k, TCP, 9000, 0), 0);
	ck_assert(host_owned_elsewhere(h, TCP, 9000, RADDR, 1));
	ck_assert(!host_owned_elsewhere(h, UDP, 9000, RADDR, 1));
	/* Our own flow on the kid's port: a connection moving to us. */
	ck_assert_int_eq(host_flow_add(h, TCP, 9000, RADDR, 2), 0);
	ck_assert(host_owned_elsewhere(h, TCP, 9000, RADDR, 2));
	/* A dead member's flow is nobody's even before a sweep: the default
	 * answers it, and the peer learns of the death by a reset. */
	ck_assert_int_eq(kid_flow(&k, OP_FLOW_ADD, 80, RADDR, 40002), 0);
	ck_assert(host_owned_elsewhere(h, TCP, 80, RADDR, 40002));
	kid_kill(&k);
	ck_assert_msg(!host_owned_elsewhere(h, TCP, 80, RADDR, 40002),
		      "a dead member's flow still counts as owned");
	ck_assert(!host_owned_elsewhere(h, TCP, 9000, RADDR, 1));
	host_leave(h);
}
END_TEST

/* ---- handles -------------------------------------------------------- */

static uint64_t kid_handle_new(struct kid *k)
{
	struct rep r = kid_call(k, (struct req){ .op = OP_H_NEW });

	ck_assert_msg(r.ret == 0 && r.id != 0, "the kid's host_handle_new: %s, id %llu",
		      strerror(-r.ret), (unsigned long long)r.id);
	return r.id;
}

static int kid_handle(struct kid *k, int op, uint64_t id, uint64_t grace)
{
	return kid_call(k, (struct req){ .op = op, .id = id, .grace = grace }).ret;
}

/* A new entry of ours that the kid holds too. */
static uint64_t shared_with_kid(struct host *h, struct kid *k)
{
	uint64_t id;

	ck_assert_int_eq(host_handle_new(h, &id), 0);
	ck_assert_int_eq(kid_handle(k, OP_H_HOLD, id, 0), 0);
	return id;
}

/* Past the sweep's rate limit and the registry's deadlines: t is this
 * test's own sweep clock. */
static void tick(struct host *h, uint64_t *t)
{
	*t += HOST_SWEEP_US + 1;
	host_tick(h, *t);
}

START_TEST(test_handle_new_is_owned_and_held_by_its_maker_ids_unique)
{
	struct host *h = join(1, NULL);
	uint64_t a, b;

	ck_assert_int_eq(host_handle_new(h, &a), 0);
	ck_assert_int_eq(host_handle_new(h, &b), 0);
	ck_assert_msg(a != 0 && b != 0 && a != b, "ids %#llx and %#llx",
		      (unsigned long long)a, (unsigned long long)b);
	ck_assert_uint_eq(host_handle_owner(h, a), 1);
	ck_assert_int_eq(host_handle_holders(h, a), 1);
	ck_assert_uint_eq(host_handle_pick_holder(h, a), 0);
	ck_assert_uint_eq(stats(h).handles, 2);
	/* No such id: not one freed, not one never made. */
	ck_assert_int_eq(host_handle_holders(h, a ^ (1ULL << 40)), -ENOENT);
	ck_assert_int_eq(host_handle_hold(h, 0, 0), -ENOENT);
	ck_assert_uint_eq(host_handle_owner(h, 0), 0);
	/* The last holder, the owner, drops: freed; the caller closes. */
	ck_assert_int_eq(host_handle_drop(h, a), 0);
	ck_assert_int_eq(host_handle_holders(h, a), -ENOENT);
	ck_assert_int_eq(host_handle_drop(h, a), -ENOENT);
	ck_assert_uint_eq(stats(h).handles, 1);
	/* A new entry in the freed one never takes the old id. */
	for (int i = 0; i < HOST_HANDLES_MAX; i++) {
		uint64_t c;

		ck_assert_int_eq(host_handle_new(h, &c), 0);
		ck_assert_msg(c != a, "id %#llx given twice", (unsigned long long)a);
		ck_assert_int_eq(host_handle_drop(h, c), 0);
	}
	host_leave(h);
}
END_TEST

START_TEST(test_handle_held_by_two_members_counts_both_and_picks_the_other)
{
	struct host *h = join(1, NULL);
	uint64_t id;
	struct kid k;

	kid_join(&k, 2, NULL);
	id = shared_with_kid(h, &k);
	ck_assert_int_eq(host_handle_holders(h, id), 2);
	ck_assert_int_eq(kid_handle(&k, OP_H_HOLDERS, id, 0), 2);
	ck_assert_uint_eq(host_handle_pick_holder(h, id), 2);
	ck_assert_int_eq(kid_handle(&k, OP_H_PICK, id, 0), 1);
	ck_assert_int_eq(kid_handle(&k, OP_H_OWNER, id, 0), 1);
	/* The state moves to the kid. */
	ck_assert_int_eq(host_handle_set_owner(h, id, 2), 0);
	ck_assert_uint_eq(host_handle_owner(h, id), 2);
	ck_assert_int_eq(host_handle_set_owner(h, id, 77), -ESRCH);
	ck_assert_int_eq(host_handle_set_owner(h, id + 1, 1), -ENOENT);
	/* We close ours: one holder left, the kid, which owns it. */
	ck_assert_int_eq(host_handle_drop(h, id), 1);
	ck_assert_uint_eq(host_handle_pick_holder(h, id), 2);
	ck_assert_int_eq(kid_handle(&k, OP_H_PICK, id, 0), 0);
	ck_assert_int_eq(kid_handle(&k, OP_H_DROP, id, 0), 0);
	ck_assert_int_eq(host_handle_holders(h, id), -ENOENT);
	kid_end(&k);
	host_leave(h);
}
END_TEST

START_TEST(test_handle_pend_join_unpend_count_the_fork_children)
{
	struct host *h = join(1, NULL);
	uint64_t id;
	struct kid k;

	ck_assert_int_eq(host_handle_new(h, &id), 0);
	ck_assert_int_eq(host_handle_pend(h, id), 0);
	ck_assert_int_eq(host_handle_holders(h, id), 2);
	host_handle_unpend(h, id);              /* the fork failed */
	ck_assert_int_eq(host_handle_holders(h, id), 1);
	host_handle_unpend(h, id);              /* no lower than 0 */
	ck_assert_int_eq(host_handle_holders(h, id), 1);
	ck_assert_int_eq(host_handle_pend(h, id), 0);
	/* The parent closes before its child joined: the child keeps it. */
	ck_assert_int_eq(host_handle_drop(h, id), 1);
	kid_join(&k, 2, NULL);
	ck_assert_int_eq(kid_handle(&k, OP_H_JOIN, id, 0), 0);
	ck_assert_msg(host_handle_holders(h, id) == 1, "the child joined: %d holders, not 1 "
		      "(pending not taken down?)", host_handle_holders(h, id));
	ck_assert_uint_eq(host_handle_pick_holder(h, id), 2);
	ck_assert_int_eq(host_handle_pend(h, id + 1), -ENOENT);
	ck_assert_int_eq(host_handle_join(h, id + 1), -ENOENT);
	kid_end(&k);
	host_leave(h);
}
END_TEST

START_TEST(test_handle_pending_is_forgotten_after_HOST_PENDING_US)
{
	struct host *h = join(1, NULL);
	uint64_t id, out[4], t = 0;

	ck_assert_int_eq(host_handle_new(h, &id), 0);
	ck_assert_int_eq(host_handle_pend(h, id), 0);
	ck_assert_int_eq(host_handle_drop(h, id), 1);
	tick(h, &t);
	ck_assert_uint_eq(host_handle_orphans(h, out, 4), 0);
	ck_assert_int_eq(host_handle_holders(h, id), 1);
	host_test_skew_clock(h, (int64_t)HOST_PENDING_US - 1000);
	tick(h, &t);
	ck_assert_int_eq(host_handle_holders(h, id), 1);
	host_test_skew_clock(h, (int64_t)HOST_PENDING_US + 1000);
	ck_assert_msg(host_handle_holders(h, id) == 0, "a pending child counts after %llu s",
		      HOST_PENDING_US / 1000000);
	/* Expired: the sweep clears it, and the entry has nobody left but
	 * its owner, which closes it. */
	tick(h, &t);
	ck_assert_uint_eq(host_handle_orphans(h, out, 4), 1);
	ck_assert_uint_eq(out[0], id);
	ck_assert_int_eq(host_handle_holders(h, id), -ENOENT);
	ck_assert_uint_eq(host_handle_orphans(h, out, 4), 0);
	host_leave(h);
}
END_TEST

START_TEST(test_handle_exec_grace_keeps_it_until_the_new_image_holds_it)
{
	struct host *h = join(1, NULL);
	uint64_t id, id2, out[4], t = 0;
	struct kid k;

	kid_join(&k, 2, NULL);
	id = shared_with_kid(h, &k);
	/* The kid is about to exec: a grace for its new image. */
	ck_assert_int_eq(kid_handle(&k, OP_H_HOLD, id, 2 * 1000 * 1000), 0);
	ck_assert_int_eq(kid_handle(&k, OP_H_DROP, id, 0), 2);      /* us, the grace */
	ck_assert_int_eq(host_handle_drop(h, id), 1);
	kid_end(&k);
	tick(h, &t);
	ck_assert_int_eq(host_handle_holders(h, id), 1);
	/* The new image holds it: the grace is over, its hold counts. */
	kid_join(&k, 3, NULL);
	ck_assert_int_eq(kid_handle(&k, OP_H_HOLD, id, 0), 0);
	ck_assert_int_eq(kid_handle(&k, OP_H_HOLDERS, id, 0), 1);
	ck_assert_int_eq(kid_handle(&k, OP_H_DROP, id, 0), 0);
	ck_assert_uint_eq(host_handle_orphans(h, out, 4), 1);
	ck_assert_uint_eq(out[0], id);
	/* A grace that runs out with no new image. */
	ck_assert_int_eq(host_handle_new(h, &id2), 0);
	ck_assert_int_eq(host_handle_hold(h, id2, 1000 * 1000), 0);
	ck_assert_int_eq(host_handle_drop(h, id2), 1);
	tick(h, &t);
	ck_assert_uint_eq(host_handle_orphans(h, out, 4), 0);
	host_test_skew_clock(h, 1000 * 1000 + 1000);
	ck_assert_int_eq(host_handle_holders(h, id2), 0);
	tick(h, &t);
	ck_assert_uint_eq(host_handle_orphans(h, out, 4), 1);
	ck_assert_uint_eq(out[0], id2);
	kid_end(&k);
	host_leave(h);
}
END_TEST

START_TEST(test_handle_sweep_of_a_dead_member_clears_its_holds_and_loses_its_state)
{
	struct host *h = join(1, NULL);
	uint64_t theirs, ours, alone, t = 0;
	struct kid k, k2;

	kid_join(&k, 2, NULL);
	theirs = kid_handle_new(&k);
	alone = kid_handle_new(&k);
	ck_assert_int_eq(host_handle_hold(h, theirs, 0), 0);
	ours = shared_with_kid(h, &k);
	ck_assert_uint_eq(stats(h).handles, 3);
	tick(h, &t);
	kid_kill(&k);
	/* Liveness is read at once, before any sweep. */
	ck_assert_uint_eq(host_handle_owner(h, theirs), 0);
	ck_assert_int_eq(host_handle_holders(h, ours), 1);
	ck_assert_uint_eq(host_handle_pick_holder(h, ours), 0);
	tick(h, &t);
	ck_assert_uint_eq(stats(h).dead_reaped, 1);
	ck_assert_msg(stats(h).handles == 2, "%u entries after the sweep, not 2 (the dead "
		      "member's own, held by nobody, not freed?)", stats(h).handles);
	ck_assert_int_eq(host_handle_holders(h, alone), -ENOENT);
	ck_assert_uint_eq(host_handle_owner(h, theirs), 0);
	ck_assert_int_eq(host_handle_holders(h, theirs), 1);
	ck_assert_uint_eq(host_handle_owner(h, ours), 1);
	ck_assert_int_eq(host_handle_holders(h, ours), 1);
	/* The slot taken again: the new member holds nothing of the dead's. */
	kid_join(&k2, 3, NULL);
	ck_assert_int_eq(kid_simple(&k2, OP_MEMBER), 2);
	ck_assert_uint_eq(host_handle_pick_holder(h, ours), 0);
	ck_assert_int_eq(kid_handle(&k2, OP_H_OWNER, theirs, 0), 0);
	/* The lost one's last holder lets go: freed. */
	ck_assert_int_eq(host_handle_drop(h, theirs), 0);
	ck_assert_int_eq(host_handle_holders(h, theirs), -ENOENT);
	/* A member that exits without leaving (no host_leave) is swept too. */
	ck_assert_int_eq(kid_handle(&k2, OP_H_HOLD, ours, 0), 0);
	ck_assert_int_eq(host_handle_holders(h, ours), 2);
	kid_end(&k2);
	tick(h, &t);
	ck_assert_int_eq(host_handle_holders(h, ours), 1);
	host_leave(h);
}
END_TEST

START_TEST(test_handle_orphans_lists_what_we_own_once_every_holder_died)
{
	struct host *h = join(1, NULL);
	uint64_t a, b, out[1], t = 0;
	struct kid k;

	kid_join(&k, 2, NULL);
	a = shared_with_kid(h, &k);
	b = shared_with_kid(h, &k);
	ck_assert_int_eq(host_handle_drop(h, a), 1);
	ck_assert_int_eq(host_handle_drop(h, b), 1);
	tick(h, &t);
	ck_assert_uint_eq(host_handle_orphans(h, out, 1), 0);
	kid_kill(&k);
	tick(h, &t);
	/* Room for one at a time: the other comes at the next call. */
	ck_assert_uint_eq(host_handle_orphans(h, out, 1), 1);
	uint64_t first = out[0];
	ck_assert_uint_eq(host_handle_orphans(h, out, 1), 1);
	ck_assert_msg((first == a && out[0] == b) || (first == b && out[0] == a),
		      "orphans %#llx, %#llx; not the two made", (unsigned long long)first,
		      (unsigned long long)out[0]);
	ck_assert_uint_eq(host_handle_orphans(h, out, 1), 0);
	ck_assert_uint_eq(stats(h).handles, 0);
	host_leave(h);
}
END_TEST

START_TEST(test_handle_full_table_is_enospc_until_one_is_freed)
{
	struct host *h = join(1, NULL);
	uint64_t id, first = 0;

	for (int i = 0; i < HOST_HANDLES_MAX; i++) {
		ck_assert_int_eq(host_handle_new(h, &id), 0);
		if (!first)
			first = id;
	}
	ck_assert_uint_eq(stats(h).handles, HOST_HANDLES_MAX);
	ck_assert_int_eq(host_handle_new(h, &id), -ENOSPC);
	ck_assert_uint_eq(id, 0);
	ck_assert_int_eq(host_handle_drop(h, first), 0);
	ck_assert_int_eq(host_handle_new(h, &id), 0);
	ck_assert_int_eq(host_handle_holders(h, id), 1);
	host_leave(h);
}
END_TEST

START_TEST(test_handle_leave_drops_holds_and_owned_state)
{
	struct host *h = join(1, NULL);
	uint64_t theirs, ours;
	struct kid k;

	kid_join(&k, 2, NULL);
	theirs = kid_handle_new(&k);
	ck_assert_int_eq(host_handle_hold(h, theirs, 0), 0);
	ours = shared_with_kid(h, &k);
	kid_simple(&k, OP_LEAVE);
	ck_assert_int_eq(host_handle_holders(h, theirs), 1);
	ck_assert_uint_eq(host_handle_owner(h, theirs), 0);
	ck_assert_int_eq(host_handle_holders(h, ours), 1);
	kid_end(&k);
	host_leave(h);
}
END_TEST

START_TEST(test_handle_found_by_its_eventfd_id_from_another_member_until_freed)
{
	struct host *h = join(1, NULL);
	uint64_t a, b, id = 9;
	struct kid k;
	struct rep r;

	ck_assert_int_eq(host_handle_new(h, &a), 0);
	ck_assert_int_eq(host_handle_new(h, &b), 0);
	ck_assert_int_eq(host_handle_by_efd(h, 67, &id), -ENOENT);
	ck_assert_uint_eq(id, 0);
	ck_assert_int_eq(host_handle_set_efd(h, a, 67), 0);
	ck_assert_int_eq(host_handle_set_efd(h, b, 68), 0);
	ck_assert_int_eq(host_handle_set_efd(h, a + 1, 69), -ENOENT);
	/* Another process, which received the descriptor, finds it. */
	kid_join(&k, 2, NULL);
	r = kid_call(&k, (struct req){ .op = OP_H_BY_EFD, .grace = 67 });
	ck_assert_msg(r.ret == 0 && r.id == a, "the kid found %#llx (%s), not %#llx",
		      (unsigned long long)r.id, strerror(-r.ret), (unsigned long long)a);
	ck_assert_int_eq(host_handle_by_efd(h, 68, &id), 0);
	ck_assert_uint_eq(id, b);
	/* The kernel gave 67 to a new eventfd (a's is gone): b's now. */
	ck_assert_int_eq(host_handle_set_efd(h, b, 67), 0);
	ck_assert_int_eq(host_handle_by_efd(h, 67, &id), 0);
	ck_assert_msg(id == b, "67 names %#llx, not the entry that set it last",
		      (unsigned long long)id);
	ck_assert_int_eq(host_handle_by_efd(h, 68, &id), -ENOENT);
	ck_assert_int_eq(host_handle_by_efd(h, 0, &id), -ENOENT);
	/* A freed entry names no eventfd. */
	ck_assert_int_eq(host_handle_drop(h, b), 0);
	r = kid_call(&k, (struct req){ .op = OP_H_BY_EFD, .grace = 67 });
	ck_assert_msg(r.ret == -ENOENT, "a freed entry found: %#llx",
		      (unsigned long long)r.id);
	ck_assert_int_eq(host_handle_drop(h, a), 0);
	kid_end(&k);
	host_leave(h);
}
END_TEST

START_TEST(test_handle_calls_on_a_null_host_succeed_and_report_nothing)
{
	uint64_t id = 5, out[1];

	ck_assert_int_eq(host_handle_new(NULL, &id), 0);
	ck_assert_uint_eq(id, 0);
	ck_assert_int_eq(host_handle_pend(NULL, 1), 0);
	host_handle_unpend(NULL, 1);
	ck_assert_int_eq(host_handle_join(NULL, 1), 0);
	ck_assert_int_eq(host_handle_hold(NULL, 1, 0), 0);
	ck_assert_int_eq(host_handle_drop(NULL, 1), 0);
	ck_assert_int_eq(host_handle_holders(NULL, 1), 0);
	ck_assert_uint_eq(host_handle_owner(NULL, 1), 0);
	ck_assert_int_eq(host_handle_set_owner(NULL, 1, 2), 0);
	ck_assert_uint_eq(host_handle_pick_holder(NULL, 1), 0);
	ck_assert_uint_eq(host_handle_orphans(NULL, out, 1), 0);
	ck_assert_int_eq(host_handle_set_efd(NULL, 1, 67), 0);
	ck_assert_int_eq(host_handle_by_efd(NULL, 67, &id), 0);
	ck_assert_uint_eq(id, 0);
	ck_assert_int_eq(host_keeper_claim(NULL), 0);
	ck_assert_uint_eq(host_keeper(NULL), 0);
	host_keeper_release(NULL);
	ck_assert_int_eq(host_mail_send_fd(NULL, 1, "x", 1, 0), -ESRCH);
	int fd = 7;
	ck_assert_int_eq(host_mail_recv_fd(NULL, out, sizeof(out), &fd), -EAGAIN);
	ck_assert_int_eq(fd, -1);
}
END_TEST

/* ---- mail with a descriptor ------------------------------------------ */

static unsigned fds_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	unsigned n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

START_TEST(test_mail_carries_a_memfd_both_ways)
{
	struct host *h = join(1, NULL);
	struct req q = { .op = OP_MAIL_FD_SEND, .port = 1 };
	char data[32];
	struct rep r;
	struct kid k;

	kid_join(&k, 2, NULL);
	ck_assert_int_eq(mail_memfd_send(h, 2, "to the kid"), 0);
	r = kid_call(&k, (struct req){ .op = OP_MAIL_FD_RECV });
	ck_assert_msg(r.ret == 3, "the kid's receive: %d (%s)", r.ret,
		      r.ret < 0 ? strerror(-r.ret) : "length");
	ck_assert_str_eq(r.data, "to the kid");
	strcpy(q.data, "from the kid");
	ck_assert_int_eq(kid_call(&k, q).ret, 0);
	ck_assert_int_eq(mail_memfd_recv(h, data), 3);
	ck_assert_str_eq(data, "from the kid");
	/* Without a descriptor: -1, the plain calls unchanged. */
	int fd = 5;
	char buf[8];
	ck_assert_int_eq(host_mail_send(h, 1, "plain", 5), 0);
	ck_assert_int_eq(host_mail_recv_fd(h, buf, sizeof(buf), &fd), 5);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(host_mail_recv_fd(h, buf, sizeof(buf), &fd), -EAGAIN);
	kid_end(&k);
	host_leave(h);
}
END_TEST

START_TEST(test_mail_with_two_descriptors_or_unasked_is_closed_not_leaked)
{
	struct host *h = join(1, NULL);
	struct sockaddr_un a;
	socklen_t alen = sizeof(a);
	union {
		struct cmsghdr c;
		char b[CMSG_SPACE(16 * sizeof(int))];
	} ctl;
	struct iovec iov = { "two", 3 };
	struct msghdr m = { .msg_name = &a, .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = ctl.b };
	int s, mfd, fds[16], fd;
	char buf[16];
	unsigned before;

	ck_assert(getsockname(host_mailbox_fd(h), (struct sockaddr *)&a, &alen) == 0);
	m.msg_namelen = alen;
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	mfd = memfd_create("two", MFD_CLOEXEC);
	ck_assert(s >= 0 && mfd >= 0);
	before = fds_open();
	/* Two descriptors; then sixteen, more than the receiver has room
	 * for (its control data truncated). */
	for (unsigned n = 2; n <= 16; n += 14) {
		memset(&ctl, 0, sizeof(ctl));
		m.msg_controllen = CMSG_SPACE(n * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n * sizeof(int));
		for (unsigned i = 0; i < n; i++)
			fds[i] = mfd;
		memcpy(CMSG_DATA(c), fds, n * sizeof(int));
		ck_assert(sendmsg(s, &m, 0) == 3);
		ck_assert_int_eq(host_mail_send(h, 1, "next", 4), 0);
		/* The bad one dropped whole, the next one read. */
		ck_assert_int_eq(host_mail_recv_fd(h, buf, sizeof(buf), &fd), 4);
		ck_assert_int_eq(fd, -1);
		ck_assert_msg(memcmp(buf, "next", 4) == 0, "%u descriptors: read the "
			      "dropped datagram", n);
		ck_assert_msg(fds_open() == before, "%u descriptors: %u left open", n,
			      fds_open() - before);
	}
	/* One descriptor nobody asked for (host_mail_recv): closed. */
	ck_assert_int_eq(host_mail_send_fd(h, 1, "one", 3, mfd), 0);
	ck_assert_int_eq(host_mail_recv(h, buf, sizeof(buf)), 3);
	ck_assert_uint_eq(fds_open(), before);
	/* One with a message cut short: closed, the length says it. */
	ck_assert_int_eq(host_mail_send_fd(h, 1, "a long message", 14, mfd), 0);
	ck_assert_int_eq(host_mail_recv_fd(h, buf, 4, &fd), 14);
	ck_assert_int_eq(fd, -1);
	ck_assert_uint_eq(fds_open(), before);
	close(s);
	close(mfd);
	host_leave(h);
}
END_TEST

/* ---- the keeper ------------------------------------------------------ */

START_TEST(test_keeper_is_claimed_once_and_released_by_release_leave_and_death)
{
	struct host *h = join(1, NULL);
	struct kid k, k2;
	uint64_t t = 0;

	kid_join(&k, 2, NULL);
	ck_assert_uint_eq(host_keeper(h), 0);
	ck_assert_int_eq(host_keeper_claim(h), 0);
	ck_assert_int_eq(host_keeper_claim(h), 0);      /* ours already */
	ck_assert_int_eq(kid_simple(&k, OP_KEEPER_CLAIM), -EEXIST);
	ck_assert_int_eq(kid_simple(&k, OP_KEEPER), 1);
	host_keeper_release(h);
	ck_assert_uint_eq(host_keeper(h), 0);
	ck_assert_int_eq(kid_simple(&k, OP_KEEPER_CLAIM), 0);
	ck_assert_uint_eq(host_keeper(h), 2);
	ck_assert_uint_eq(stats(h).keeper, 2);
	host_keeper_release(h);                         /* not ours: nothing */
	ck_assert_int_eq(host_keeper_claim(h), -EEXIST);
	/* Death: seen at once, cleared by the sweep. */
	tick(h, &t);
	kid_kill(&k);
	ck_assert_uint_eq(host_keeper(h), 0);
	tick(h, &t);
	kid_join(&k2, 3, NULL);                         /* slot 2 again */
	ck_assert_int_eq(kid_simple(&k2, OP_MEMBER), 2);
	ck_assert_int_eq(kid_simple(&k2, OP_KEEPER), 0);
	/* Leaving. */
	ck_assert_int_eq(kid_simple(&k2, OP_KEEPER_CLAIM), 0);
	kid_simple(&k2, OP_LEAVE);
	ck_assert_uint_eq(host_keeper(h), 0);
	ck_assert_int_eq(host_keeper_claim(h), 0);
	kid_end(&k2);
	host_leave(h);
}
END_TEST

static Suite *host_suite(void)
{
	Suite *s = suite_create("host");
	TCase *tj = tcase_create("join");
	TCase *tb = tcase_create("bind");
	TCase *tl = tcase_create("liveness");
	TCase *ta = tcase_create("accept");
	TCase *th = tcase_create("handles");
	TCase *tm = tcase_create("mail, keeper");

	tcase_add_checked_fixture(tj, setup, teardown);
	tcase_add_test(tj, test_first_join_creates_registry_file_and_maps_and_is_default);
	tcase_add_test(tj, test_second_member_shares_mac_and_maps_and_is_not_default);
	tcase_add_test(tj, test_registry_of_another_version_is_refused_with_eproto);
	tcase_add_test(tj, test_registry_of_an_older_version_is_replaced_when_nobody_uses_it);
	tcase_add_test(tj, test_null_host_does_nothing_and_succeeds);
	tcase_set_timeout(tj, 30);
	suite_add_tcase(s, tj);

	tcase_add_checked_fixture(tb, setup, teardown);
	tcase_add_test(tb, test_bind_of_a_port_another_process_holds_is_eaddrinuse);
	tcase_add_test(tb, test_reuseport_on_both_sides_shares_a_port_for_one_uid);
	tcase_add_test(tb, test_reuseaddr_on_both_sides_shares_a_port_unless_the_other_listens);
	tcase_add_test(tb, test_inherited_bind_never_conflicts);
	tcase_add_test(tb, test_unbind_frees_the_port_at_the_last_reference);
	tcase_add_test(tb, test_concurrent_binds_of_one_port_in_many_processes_one_wins);
	tcase_set_timeout(tb, 30);
	suite_add_tcase(s, tb);

	tcase_add_checked_fixture(tl, setup, teardown);
	tcase_add_test(tl, test_killed_member_is_reaped_by_tick_ports_flows_and_default);
	tcase_add_test(tl, test_bind_reaps_a_dead_holder_at_once);
	tcase_add_test(tl, test_join_after_every_member_died_starts_afresh);
	tcase_add_test(tl, test_member_killed_holding_the_lock_is_repaired_by_the_next_call);
	tcase_add_test(tl, test_leave_frees_ports_and_flows_and_moves_the_default);
	tcase_add_test(tl, test_forget_in_a_child_leaves_the_parents_membership_alone);
	tcase_set_timeout(tl, 30);
	suite_add_tcase(s, tl);

	tcase_add_checked_fixture(ta, setup, teardown);
	tcase_add_test(ta, test_activate_adds_a_member_to_active_once_and_unbind_removes_it);
	tcase_add_test(ta, test_owned_elsewhere_sees_other_members_flows_and_ports);
	tcase_set_timeout(ta, 30);
	suite_add_tcase(s, ta);

	tcase_add_checked_fixture(th, setup, teardown);
	tcase_add_test(th, test_handle_new_is_owned_and_held_by_its_maker_ids_unique);
	tcase_add_test(th, test_handle_held_by_two_members_counts_both_and_picks_the_other);
	tcase_add_test(th, test_handle_pend_join_unpend_count_the_fork_children);
	tcase_add_test(th, test_handle_pending_is_forgotten_after_HOST_PENDING_US);
	tcase_add_test(th, test_handle_exec_grace_keeps_it_until_the_new_image_holds_it);
	tcase_add_test(th, test_handle_sweep_of_a_dead_member_clears_its_holds_and_loses_its_state);
	tcase_add_test(th, test_handle_orphans_lists_what_we_own_once_every_holder_died);
	tcase_add_test(th, test_handle_full_table_is_enospc_until_one_is_freed);
	tcase_add_test(th, test_handle_leave_drops_holds_and_owned_state);
	tcase_add_test(th, test_handle_found_by_its_eventfd_id_from_another_member_until_freed);
	tcase_add_test(th, test_handle_calls_on_a_null_host_succeed_and_report_nothing);
	tcase_set_timeout(th, 30);
	suite_add_tcase(s, th);

	tcase_add_checked_fixture(tm, setup, teardown);
	tcase_add_test(tm, test_mail_carries_a_memfd_both_ways);
	tcase_add_test(tm, test_mail_with_two_descriptors_or_unasked_is_closed_not_leaked);
	tcase_add_test(tm, test_keeper_is_claimed_once_and_released_by_release_leave_and_death);
	tcase_set_timeout(tm, 30);
	suite_add_tcase(s, tm);
	return s;
}

CHECK_MAIN(host_suite)
