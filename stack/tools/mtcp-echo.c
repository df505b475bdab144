/*
 * mtcp-echo - run the stack alone and serve the classic test services on
 * it, over UDP and TCP: echo (RFC 862, port 7), discard (RFC 863, port 9)
 * and chargen (RFC 864, port 19).
 *
 *   MTCP_IFACE=mt0 MTCP_ADDR=10.61.0.2/24 build/mtcp-echo
 *
 * Configuration is the MTCP_* environment (stack/config.h). Prints one
 * "mtcp-echo: ready ..." line once every service (UDP and TCP) listens.
 * SIGUSR1 prints the stack's counters and this tool's own ("stat
 * tcp_echo_bytes_in N", ...) to stderr, ended by "stat end"; SIGINT/SIGTERM
 * print them and exit 0. An invalid configuration exits 2 with a message
 * naming the variable; a device that cannot be opened exits 1. When the
 * stack has no TCP (mtcp_socket(SOCK_STREAM) is -EPROTONOSUPPORT) one line
 * says so and UDP is served alone.
 *
 * One thread, event driven. The stack's calls never block; every socket
 * has the same notify hook, which the stack calls with its lock held
 * whenever the socket's readiness may have changed: the hook only puts
 * the socket's entry on a ready list (its own small mutex) and, when the
 * list was empty, writes an eventfd. The main loop polls that eventfd and a
 * signalfd, and serves the entries of the ready list, each until it would
 * block or has moved its share of bytes (then it goes back on the list, so
 * one busy connection cannot starve the others).
 *
 * TCP services, per connection:
 *   echo     read into a 64 KiB buffer and write it back; a full buffer
 *            stops reading (the flow control). At the peer's FIN: send
 *            what is left, shutdown(SHUT_WR), close.
 *   discard  read and drop until the peer's FIN, then close.
 *   chargen  write the RFC 864 pattern without end; read and drop what
 *            the peer sends; close at its FIN or at an error (-EPIPE,
 *            -ECONNRESET: the peer went away).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "mtcp.h"
#include "wire/ipv4.h"

enum service { ECHO, DISCARD, CHARGEN, NSERVICES };

static const struct {
	const char *name;
	uint16_t port;
} services[NSERVICES] = {
	[ECHO] = { "echo", 7 },
	[DISCARD] = { "discard", 9 },
	[CHARGEN] = { "chargen", 19 },
};

#define CHARGEN_LINE    72
#define CHARGEN_MAX     512
/* The RFC 864 stream repeats every 95 lines of 72 characters + CR LF. */
#define CHARGEN_PERIOD  (95 * (CHARGEN_LINE + 2))

#define TCP_BACKLOG     1024
#define ECHO_BUF        65536
#define IO_CHUNK        65536
/* Bytes one visit of a connection may move before it yields its turn. */
#define VISIT_BUDGET    (1u << 20)
#define ACCEPT_BUDGET   64

static uint64_t rng_state;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

/* RFC 864: lines of 72 characters from the 95 printable ASCII characters,
 * each line starting one character further on, ending in CR LF. */
static size_t chargen_fill(uint8_t *buf, size_t len, unsigned *line)
{
	size_t n = 0;

	while (n < len) {
		for (unsigned i = 0; i < CHARGEN_LINE && n < len; i++)
			buf[n++] = (uint8_t)(' ' + (*line + i) % 95);
		if (n < len)
			buf[n++] = '\r';
		if (n < len)
			buf[n++] = '\n';
		++*line;
	}
	return n;
}

/* The TCP chargen stream from its start, long enough that IO_CHUNK bytes
 * can be sent from any offset below CHARGEN_PERIOD: a connection's state
 * is its offset in the period. */
static uint8_t chargen_pattern[CHARGEN_PERIOD + IO_CHUNK];

/* Scratch for bytes that are read to be dropped (main thread only). */
static uint8_t scratch[IO_CHUNK];

enum kind { K_UDP, K_LISTEN, K_CONN };

/* One socket the loop serves: a UDP service, a TCP listener or a TCP
 * connection. */
struct ent {
	enum kind kind;
	enum service svc;
	struct mtcp_sock *s;

	/* Ready list, guarded by ready.lock. */
	bool queued;
	struct ent *rnext, *rprev;

	/* Main thread only. */
	struct ent *cnext, *cprev;      /* conns: every open connection */
	uint8_t *buf;                   /* echo: buf[head..tail) to send back */
	size_t head, tail;
	size_t off;                     /* chargen: position in the period */
	bool eof;                       /* echo: the peer's FIN was read */
};

/* The ready list. The notify hook runs on whichever thread holds the stack
 * lock (the stack thread, or this one inside an mtcp_* call), so it takes
 * only this mutex (lock order: stack lock, then ready.lock; the main
 * thread never calls into the stack holding it). */
static struct {
	pthread_mutex_t lock;
	struct ent *head, *tail;
	unsigned count;
	int efd;
} ready = { .lock = PTHREAD_MUTEX_INITIALIZER, .efd = -1 };

static struct ent *conns;               /* main thread only */

/* Per TCP service; main thread only. */
static struct {
	uint64_t conns;         /* accepted */
	uint64_t open;          /* open now */
	uint64_t errors;        /* ended by an error (reset, timeout, ...) */
	uint64_t bytes_in, bytes_out;
} tcp_stats[NSERVICES];
static uint64_t tcp_accept_fail;

static void ready_add(struct ent *e)
{
	bool kick = false;

	pthread_mutex_lock(&ready.lock);
	if (!e->queued) {
		e->queued = true;
		e->rnext = NULL;
		e->rprev = ready.tail;
		if (ready.tail) {
			ready.tail->rnext = e;
		} else {
			ready.head = e;
			kick = true;
		}
		ready.tail = e;
		ready.count++;
	}
	pthread_mutex_unlock(&ready.lock);
	if (kick) {
		uint64_t one = 1;
		ssize_t r = write(ready.efd, &one, sizeof(one));
		(void)r;        /* EAGAIN: the counter is already non-zero */
	}
}

/* Call with ready.lock held. */
static void ready_unlink(struct ent *e)
{
	if (e->rprev)
		e->rprev->rnext = e->rnext;
	else
		ready.head = e->rnext;
	if (e->rnext)
		e->rnext->rprev = e->rprev;
	else
		ready.tail = e->rprev;
	e->rnext = e->rprev = NULL;
	e->queued = false;
	ready.count--;
}

static struct ent *ready_pop(void)
{
	pthread_mutex_lock(&ready.lock);
	struct ent *e = ready.head;
	if (e)
		ready_unlink(e);
	pthread_mutex_unlock(&ready.lock);
	return e;
}

static void ready_del(struct ent *e)
{
	pthread_mutex_lock(&ready.lock);
	if (e->queued)
		ready_unlink(e);
	pthread_mutex_unlock(&ready.lock);
}

static unsigned ready_count(void)
{
	pthread_mutex_lock(&ready.lock);
	unsigned n = ready.count;
	pthread_mutex_unlock(&ready.lock);
	return n;
}

/* The notify hook: stack lock held; must not call into the stack. */
static void notify(struct mtcp_sock *s, unsigned ev, void *ctx)
{
	(void)s;
	(void)ev;
	ready_add(ctx);
}

/* ---------------------------------------------------------------- UDP */

/* Serve up to 256 datagrams; true when there may be more. */
static bool serve_udp(struct mtcp_sock *s, enum service svc, unsigned *line)
{
	static uint8_t buf[65536];
	struct sockaddr_in from;

	for (int budget = 0; budget < 256; budget++) {
		ssize_t n = mtcp_recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT, &from);
		if (n == -EAGAIN)
			return false;
		if (n < 0) {
			fprintf(stderr, "mtcp-echo: %s: recv: %s\n", services[svc].name,
				strerror((int)-n));
			return false;
		}
		ssize_t r = 0;
		switch (svc) {
		case ECHO:
			r = mtcp_sendto(s, buf, (size_t)n, 0, &from);
			break;
		case CHARGEN: {
			/* A random length, but never cutting a CR LF in two. */
			size_t len = rng() % (CHARGEN_MAX + 1);
			if (len % (CHARGEN_LINE + 2) == CHARGEN_LINE + 1)
				len--;
			len = chargen_fill(buf, len, line);
			r = mtcp_sendto(s, buf, len, 0, &from);
			break;
		}
		default:
			break;
		}
		if (r < 0)
			fprintf(stderr, "mtcp-echo: %s: send: %s\n", services[svc].name,
				strerror((int)-r));
	}
	return true;
}

/* ---------------------------------------------------------------- TCP */

static void conn_close(struct ent *c)
{
	/* After mtcp_close the hook is never called for c again (it is
	 * cleared under the stack lock); then c can leave the ready list. */
	mtcp_close(c->s);
	ready_del(c);
	if (c->cprev)
		c->cprev->cnext = c->cnext;
	else
		conns = c->cnext;
	if (c->cnext)
		c->cnext->cprev = c->cprev;
	tcp_stats[c->svc].open--;
	free(c->buf);
	free(c);
}

/* The connection failed (err < 0, from what): count it and close. The
 * peer going away is the usual end of chargen and not worth a line. */
static void conn_fail(struct ent *c, ssize_t err, const char *what)
{
	tcp_stats[c->svc].errors++;
	if (err != -ECONNRESET && err != -EPIPE && err != -ETIMEDOUT)
		fprintf(stderr, "mtcp-echo: tcp %s: %s: %s\n", services[c->svc].name, what,
			strerror((int)-err));
	conn_close(c);
}

static void conn_new(enum service svc, struct mtcp_sock *s)
{
	struct ent *c = calloc(1, sizeof(*c));

	if (c && svc == ECHO && !(c->buf = malloc(ECHO_BUF))) {
		free(c);
		c = NULL;
	}
	if (!c) {
		fprintf(stderr, "mtcp-echo: tcp %s: out of memory, connection dropped\n",
			services[svc].name);
		tcp_accept_fail++;
		mtcp_close(s);
		return;
	}
	c->kind = K_CONN;
	c->svc = svc;
	c->s = s;
	c->cnext = conns;
	if (conns)
		conns->cprev = c;
	conns = c;
	tcp_stats[svc].conns++;
	tcp_stats[svc].open++;
	mtcp_set_notify(s, notify, c);
	/* whatever arrived before the hook was set */
	ready_add(c);
}

static void serve_listener(struct ent *l)
{
	for (int i = 0; i < ACCEPT_BUDGET; i++) {
		struct mtcp_sock *s;
		int rc = mtcp_accept(l->s, NULL, &s);
		if (rc == -EAGAIN)
			return;
		if (rc == -ECONNABORTED || rc == -EINTR)
			continue;
		if (rc < 0) {
			fprintf(stderr, "mtcp-echo: tcp %s: accept: %s\n",
				services[l->svc].name, strerror(-rc));
			tcp_accept_fail++;
			return;
		}
		conn_new(l->svc, s);
	}
	ready_add(l);   /* more may wait: another turn */
}

static void serve_echo(struct ent *c)
{
	size_t moved = 0;

	for (;;) {
		bool progress = false;
		ssize_t n;

		if (!c->eof && c->tail < ECHO_BUF) {
			n = mtcp_recvfrom(c->s, c->buf + c->tail, ECHO_BUF - c->tail, 0, NULL);
			if (n > 0) {
				c->tail += (size_t)n;
				tcp_stats[ECHO].bytes_in += (uint64_t)n;
				moved += (size_t)n;
				progress = true;
			} else if (n == 0) {
				c->eof = true;
				progress = true;
			} else if (n != -EAGAIN) {
				conn_fail(c, n, "recv");
				return;
			}
		}
		if (c->head < c->tail) {
			n = mtcp_sendto(c->s, c->buf + c->head, c->tail - c->head, 0, NULL);
			if (n > 0) {
				c->head += (size_t)n;
				tcp_stats[ECHO].bytes_out += (uint64_t)n;
				moved += (size_t)n;
				progress = true;
			} else if (n < 0 && n != -EAGAIN) {
				conn_fail(c, n, "send");
				return;
			}
		}
		if (c->head == c->tail) {
			c->head = c->tail = 0;
		} else if (c->tail == ECHO_BUF && c->head > 0) {
			memmove(c->buf, c->buf + c->head, c->tail - c->head);
			c->tail -= c->head;
			c->head = 0;
		}
		if (c->eof && c->tail == 0) {
			/* RFC 862: all echoed; our FIN follows the data */
			mtcp_shutdown(c->s, SHUT_WR);
			conn_close(c);
			return;
		}
		if (!progress)
			return;
		if (moved >= VISIT_BUDGET) {
			ready_add(c);
			return;
		}
	}
}

/* Read and drop what the peer sends: 0 when it would block (or the budget
 * is spent: *more set), 1 at its FIN, or -errno. */
static ssize_t drain(struct ent *c, size_t *moved, bool *more)
{
	while (*moved < VISIT_BUDGET) {
		ssize_t n = mtcp_recvfrom(c->s, scratch, sizeof(scratch), 0, NULL);
		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return n;
		if (n == 0)
			return 1;
		tcp_stats[c->svc].bytes_in += (uint64_t)n;
		*moved += (size_t)n;
	}
	*more = true;
	return 0;
}

static void serve_discard(struct ent *c)
{
	size_t moved = 0;
	bool more = false;
	ssize_t rc = drain(c, &moved, &more);

	if (rc < 0)
		conn_fail(c, rc, "recv");
	else if (rc == 1)
		conn_close(c);          /* RFC 863: the peer is done */
	else if (more)
		ready_add(c);
}

static void serve_chargen(struct ent *c)
{
	size_t moved = 0;
	bool more = false;
	ssize_t rc = drain(c, &moved, &more);

	if (rc < 0) {
		conn_fail(c, rc, "recv");
		return;
	}
	if (rc == 1) {
		conn_close(c);          /* RFC 864: the peer closed */
		return;
	}
	moved = 0;
	while (moved < VISIT_BUDGET) {
		ssize_t n = mtcp_sendto(c->s, chargen_pattern + c->off, IO_CHUNK, 0, NULL);
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			conn_fail(c, n, "send");
			return;
		}
		c->off = (c->off + (size_t)n) % CHARGEN_PERIOD;
		tcp_stats[CHARGEN].bytes_out += (uint64_t)n;
		moved += (size_t)n;
	}
	if (more || moved >= VISIT_BUDGET)
		ready_add(c);
}

/* ---------------------------------------------------------------- main */

/* The stack's counters, then ours, then "stat end": one write. */
static void print_stats(struct stack *st)
{
	static const char end[] = "stat end\n";
	const size_t endlen = sizeof(end) - 1;
	struct stack_stats stats;
	char *text = NULL, *all = NULL;
	size_t len = 0, alllen = 0;
	FILE *m;

	mtcp_stack_stats(st, &stats);
	if (!(m = open_memstream(&text, &len))) {
		mtcp_stats_print(&stats, stderr);
		return;
	}
	mtcp_stats_print(&stats, m);
	fclose(m);
	/* ours go before the stack's "stat end" line */
	if (len >= endlen && !memcmp(text + len - endlen, end, endlen))
		len -= endlen;
	if (!(m = open_memstream(&all, &alllen))) {
		free(text);
		return;
	}
	fwrite(text, 1, len, m);
	free(text);
	for (int i = 0; i < NSERVICES; i++) {
		const char *n = services[i].name;
		fprintf(m, "stat tcp_%s_conns %llu\n", n, (unsigned long long)tcp_stats[i].conns);
		fprintf(m, "stat tcp_%s_open %llu\n", n, (unsigned long long)tcp_stats[i].open);
		fprintf(m, "stat tcp_%s_errors %llu\n", n, (unsigned long long)tcp_stats[i].errors);
		fprintf(m, "stat tcp_%s_bytes_in %llu\n", n,
			(unsigned long long)tcp_stats[i].bytes_in);
		fprintf(m, "stat tcp_%s_bytes_out %llu\n", n,
			(unsigned long long)tcp_stats[i].bytes_out);
	}
	fprintf(m, "stat tcp_accept_fail %llu\n", (unsigned long long)tcp_accept_fail);
	fputs(end, m);
	fclose(m);
	fwrite(all, 1, alllen, stderr);
	fflush(stderr);
	free(all);
}

/* A TCP listener on port: 0, or -errno (from what, in *what). */
static int tcp_listen(struct stack *st, uint16_t port, struct mtcp_sock **out,
		      const char **what)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct mtcp_sock *s;
	int rc;

	*what = "socket";
	if ((rc = mtcp_socket(st, SOCK_STREAM, &s)) < 0)
		return rc;
	*what = "bind";
	if ((rc = mtcp_bind(s, &a)) == 0) {
		*what = "listen";
		rc = mtcp_listen(s, TCP_BACKLOG);
	}
	if (rc < 0) {
		mtcp_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

int main(void)
{
	struct mtcp_config cfg;
	struct stack *st;
	struct ent udp[NSERVICES] = { 0 }, lis[NSERVICES] = { 0 };
	bool have_tcp = true;
	char err[512];
	int rc, status = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (config_from_env(&cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "mtcp: %s\n", err);
		return 2;
	}

	/* Signals arrive through a signalfd: block them before any thread. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGUSR1);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);       /* the stack never raises it; be sure */
	int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	ready.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sfd < 0 || ready.efd < 0) {
		perror("mtcp-echo: signalfd/eventfd");
		return 1;
	}
	rng_state = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL | 1;
	unsigned line0 = 0;
	chargen_fill(chargen_pattern, sizeof(chargen_pattern), &line0);

	if ((rc = mtcp_stack_open(&cfg, &st, err, sizeof(err))) < 0) {
		fprintf(stderr, "mtcp: %s\n", err);
		return 1;
	}
	for (int i = 0; i < NSERVICES; i++) {
		struct sockaddr_in a = {
			.sin_family = AF_INET,
			.sin_port = htons(services[i].port),
		};
		udp[i].kind = K_UDP;
		udp[i].svc = (enum service)i;
		if ((rc = mtcp_socket(st, SOCK_DGRAM, &udp[i].s)) < 0 ||
		    (rc = mtcp_bind(udp[i].s, &a)) < 0) {
			fprintf(stderr, "mtcp-echo: udp %s: %s\n", services[i].name,
				strerror(-rc));
			status = 1;
			goto out;
		}
		mtcp_set_notify(udp[i].s, notify, &udp[i]);
	}
	for (int i = 0; i < NSERVICES && have_tcp; i++) {
		const char *what;
		lis[i].kind = K_LISTEN;
		lis[i].svc = (enum service)i;
		rc = tcp_listen(st, services[i].port, &lis[i].s, &what);
		if (rc == -EPROTONOSUPPORT && i == 0) {
			fprintf(stderr, "mtcp-echo: the stack has no TCP (%s), serving UDP only\n",
				strerror(-rc));
			have_tcp = false;
			break;
		}
		if (rc < 0) {
			fprintf(stderr, "mtcp-echo: tcp %s: %s: %s\n", services[i].name, what,
				strerror(-rc));
			status = 1;
			goto out;
		}
		mtcp_set_notify(lis[i].s, notify, &lis[i]);
	}
	if ((rc = mtcp_stack_start(st)) < 0) {
		fprintf(stderr, "mtcp-echo: cannot start the stack thread: %s\n", strerror(-rc));
		status = 1;
		goto out;
	}
	/* whatever arrived before the hooks were set */
	for (int i = 0; i < NSERVICES; i++) {
		ready_add(&udp[i]);
		if (lis[i].s)
			ready_add(&lis[i]);
	}

	char a[16];
	printf("mtcp-echo: ready %s/%u on %s (%s), %s\n", ipv4_ntoa(cfg.addr, a), cfg.prefix,
	       cfg.iface, cfg.driver == MTCP_DRIVER_TAP ? "tap" : "packet",
	       have_tcp ? "udp+tcp" : "udp only");

	unsigned line = 0;
	for (;;) {
		struct pollfd pfd[2] = { { sfd, POLLIN, 0 }, { ready.efd, POLLIN, 0 } };
		/* entries left on the list (budget spent) need no wake-up */
		if (poll(pfd, 2, ready_count() ? 0 : -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("mtcp-echo: poll");
			status = 1;
			break;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				print_stats(st);
				if (si.ssi_signo != SIGUSR1)
					break;
			}
		}
		if (pfd[1].revents & POLLIN) {
			uint64_t v;
			ssize_t r = read(ready.efd, &v, sizeof(v));
			(void)r;
		}
		/* One round: the entries queued now; those queued while
		 * serving wait for the next round. */
		for (unsigned n = ready_count(); n > 0; n--) {
			struct ent *e = ready_pop();
			if (!e)
				break;
			switch (e->kind) {
			case K_UDP:
				if (serve_udp(e->s, e->svc, &line))
					ready_add(e);
				break;
			case K_LISTEN:
				serve_listener(e);
				break;
			case K_CONN:
				if (e->svc == ECHO)
					serve_echo(e);
				else if (e->svc == DISCARD)
					serve_discard(e);
				else
					serve_chargen(e);
				break;
			}
		}
	}
out:
	/* Close first, so that connections can still say goodbye (FIN or
	 * RST) while the stack thread runs; then no hook fires any more. */
	while (conns)
		conn_close(conns);
	for (int i = 0; i < NSERVICES; i++) {
		if (lis[i].s)
			mtcp_close(lis[i].s);
		if (udp[i].s)
			mtcp_close(udp[i].s);
	}
	mtcp_stack_stop(st);
	mtcp_stack_destroy(st);
	return status;
}
