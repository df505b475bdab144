/*
 * mp_echo - the servers and clients of the multi-process tests
 * (tests/integration/multiproc_*.sh). Plain C, no stack code: the same
 * binary runs on the kernel and under libmtcp.so.
 *
 *   mp_echo serve ADDR PORT
 *       TCP echo server in one process (poll, non-blocking): echoes every
 *       connection until its EOF, then closes it. Prints
 *       "mp_echo: serving tcp ADDR:PORT pid PID" once it listens; at
 *       SIGTERM or SIGINT it closes everything, prints
 *       "RESULT accepted N closed N bytes N resets N errors N" and exits 0
 *       (an ordinary exit: the preload writes MTCP_STATS then).
 *
 *   mp_echo userve ADDR PORT
 *       UDP echo server: every datagram back to its sender. The same ready
 *       line ("serving udp"); at SIGTERM "RESULT datagrams N errors N".
 *
 *   mp_echo client ADDR PORT N C BYTES [SEED]
 *       N TCP connections, C at a time (C threads, blocking calls with
 *       10 s timeouts): each sends BYTES of a pattern of its own in chunks
 *       of up to 8 KiB, reads each chunk back and compares it, then
 *       shutdown(SHUT_WR) and reads the server's EOF. Prints
 *       "RESULT conns N ok N refused N resets N timeouts N mismatches N
 *       eof_early N errors N bytes N" and, on stderr, what went wrong with
 *       the first 10 connections that failed. Exit 0 only if all N are ok.
 *
 *   mp_echo hold ADDR PORT N HELDFILE GOFILE SECS [-g] [-p PORTSFILE]
 *       N connections held open at once (at most 256 connecting at a time),
 *       one 64-byte echo round on each; then creates HELDFILE and waits
 *       (up to SECS) for GOFILE, watching every connection: one that becomes
 *       readable meanwhile (EOF, reset, stray data) is counted. Then a second
 *       round on every connection. Deterministic lines on stdout (counts
 *       only; diffed between a kernel and a preload run):
 *           connected: N
 *           first echo ok: N
 *           distinct local ports: N
 *           ended while held: N
 *           second echo ok: N
 *       -p: every connection's local port into PORTSFILE, one a line.
 *       -g (gone): the server was killed while held; the second round must
 *       find every connection ended (EOF, ECONNRESET or EPIPE within SECS,
 *       never an echo and never silence; an end while held counts too).
 *       Prints instead of the last two lines:
 *           learned gone: N
 *           still echoing: N
 *           no answer: N
 *       Exit 0 only if every count is as expected.
 *
 *   mp_echo idle ADDR PORT N READYFILE ENDSFILE SECS
 *       N connections (blocking, one after another), one 64-byte echo round
 *       on each; then one thread per connection blocked in recv (SO_RCVTIMEO
 *       SECS), and READYFILE is created. The server is to die meanwhile:
 *       each thread notes when its recv returned (CLOCK_REALTIME in ms, the
 *       clock of date +%s%3N) and how: reset (ECONNRESET), eof, timeout
 *       (nothing came within SECS), data, or another error. ENDSFILE gets
 *       one line per connection: "INDEX LOCALPORT HOW MS". Prints
 *           connected: N
 *           first echo ok: N
 *           reset: N
 *           eof: N
 *           no end: N
 *           other: N
 *       Exit 0 only if every connection ended by a reset or an EOF.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	fprintf(stderr, "mp_echo: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (%s)\n", strerror(e));
	exit(2);
}

static struct sockaddr_in sin_of(const char *ip, const char *port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)atoi(port));
	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		errno = EINVAL;
		die("bad address %s", ip);
	}
	return a;
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		die("fcntl O_NONBLOCK");
}

/* As many fds as the hard limit allows (servers and hold keep thousands). */
static void raise_nofile(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

static void on_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;        /* no SA_RESTART: poll returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Byte i of connection c's stream (seed s): splitmix64's finaliser over
 * (s, c, i / 8), so a lost, doubled or foreign byte shows. */
static uint8_t pat(uint32_t s, uint32_t c, uint64_t i)
{
	uint64_t x = (i >> 3) * 0x9e3779b97f4a7c15ull ^
		     ((uint64_t)s << 32 | c) * 0xbf58476d1ce4e5b9ull;

	x ^= x >> 31;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 29;
	return (uint8_t)(x >> ((i & 7) * 8));
}

/* ------------------------------------------------------------ serve */

struct conn {
	int fd;
	char *pend;             /* bytes read, not yet written back */
	size_t npend, off;
};

static int serve_tcp(const char *ip, const char *port)
{
	struct sockaddr_in a = sin_of(ip, port);
	int one = 1, ls;
	size_t cap = 1024, n = 0, i;
	struct pollfd *pf;
	struct conn *cs;
	unsigned long long accepted = 0, closed = 0, bytes = 0, resets = 0, errors = 0;
	static char buf[65536];

	raise_nofile();
	on_signals();
	if ((ls = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		die("socket");
	if (setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die("SO_REUSEADDR");
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind %s:%s", ip, port);
	if (listen(ls, 4096) < 0)
		die("listen");
	set_nonblock(ls);
	pf = calloc(cap + 1, sizeof(*pf));
	cs = calloc(cap, sizeof(*cs));
	if (!pf || !cs)
		die("calloc");
	printf("mp_echo: serving tcp %s:%s pid %d\n", ip, port, (int)getpid());
	fflush(stdout);

	while (!stop) {
		pf[0].fd = ls;
		pf[0].events = POLLIN;
		for (i = 0; i < n; i++) {
			pf[i + 1].fd = cs[i].fd;
			pf[i + 1].events = cs[i].npend ? POLLOUT : POLLIN;
			pf[i + 1].revents = 0;
		}
		int r = poll(pf, n + 1, 1000);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		/* connections first: accepting may grow (move) the arrays */
		for (i = n; i-- > 0;) {
			struct conn *c = &cs[i];
			short ev = pf[i + 1].revents;
			int gone = 0;

			if (!ev)
				continue;
			if (c->npend) {
				ssize_t w = send(c->fd, c->pend + c->off, c->npend - c->off,
						 MSG_NOSIGNAL);
				if (w > 0) {
					c->off += (size_t)w;
					if (c->off == c->npend)
						c->npend = c->off = 0;
				} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
					if (errno == ECONNRESET || errno == EPIPE)
						resets++;
					else
						errors++;
					gone = 1;
				}
			} else {
				ssize_t rd = recv(c->fd, buf, sizeof(buf), 0);

				if (rd == 0) {
					gone = 1;
				} else if (rd < 0) {
					if (errno != EAGAIN && errno != EINTR) {
						if (errno == ECONNRESET)
							resets++;
						else
							errors++;
						gone = 1;
					}
				} else {
					ssize_t w;

					bytes += (size_t)rd;
					w = send(c->fd, buf, (size_t)rd, MSG_NOSIGNAL);
					if (w < 0 && errno != EAGAIN && errno != EINTR) {
						if (errno == ECONNRESET || errno == EPIPE)
							resets++;
						else
							errors++;
						gone = 1;
					} else {
						if (w < 0)
							w = 0;
						if (w < rd) {
							if (!c->pend && !(c->pend = malloc(sizeof(buf))))
								die("malloc");
							memcpy(c->pend, buf + w, (size_t)(rd - w));
							c->npend = (size_t)(rd - w);
							c->off = 0;
						}
					}
				}
			}
			if (gone) {
				close(c->fd);
				free(c->pend);
				closed++;
				cs[i] = cs[--n];
			}
		}
		if (pf[0].revents & POLLIN) {
			for (;;) {
				int fd = accept(ls, NULL, NULL);

				if (fd < 0) {
					if (errno != EAGAIN && errno != EINTR &&
					    errno != ECONNABORTED)
						errors++;
					break;
				}
				set_nonblock(fd);
				if (n + 1 >= cap) {
					cap *= 2;
					pf = realloc(pf, (cap + 1) * sizeof(*pf));
					cs = realloc(cs, cap * sizeof(*cs));
					if (!pf || !cs)
						die("realloc");
				}
				memset(&cs[n], 0, sizeof(cs[n]));
				cs[n++].fd = fd;
				accepted++;
			}
		}
	}
	for (i = 0; i < n; i++) {
		close(cs[i].fd);
		free(cs[i].pend);
	}
	close(ls);
	printf("RESULT accepted %llu closed %llu bytes %llu resets %llu errors %llu\n",
	       accepted, closed, bytes, resets, errors);
	fflush(stdout);
	return 0;
}

static int serve_udp(const char *ip, const char *port)
{
	struct sockaddr_in a = sin_of(ip, port), from;
	socklen_t fl;
	int fd;
	unsigned long long dgrams = 0, errors = 0;
	static char buf[65536];

	on_signals();
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
		die("socket");
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind udp %s:%s", ip, port);
	printf("mp_echo: serving udp %s:%s pid %d\n", ip, port, (int)getpid());
	fflush(stdout);
	while (!stop) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 1000) <= 0)
			continue;
		fl = sizeof(from);
		ssize_t r = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);
		if (r < 0) {
			if (errno != EAGAIN && errno != EINTR)
				errors++;
			continue;
		}
		dgrams++;
		if (sendto(fd, buf, (size_t)r, 0, (struct sockaddr *)&from, fl) < 0)
			errors++;
	}
	close(fd);
	printf("RESULT datagrams %llu errors %llu\n", dgrams, errors);
	fflush(stdout);
	return 0;
}

/* ------------------------------------------------------------ client */

enum { CR_OK, CR_REFUSED, CR_RESET, CR_TIMEOUT, CR_MISMATCH, CR_EOF, CR_ERROR, CR__N };
static const char *const r_names[CR__N] = {
	"ok", "refused", "resets", "timeouts", "mismatches", "eof_early", "errors"
};

static struct {
	struct sockaddr_in sa;
	int n, bytes;
	uint32_t seed;
	int next;                       /* atomic */
	pthread_mutex_t lock;
	unsigned long long count[CR__N]; /* lock */
	unsigned long long moved;       /* lock */
	int reported;                   /* lock */
	long long t0;
} cl = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int classify(int e)
{
	switch (e) {
	case ECONNREFUSED: return CR_REFUSED;
	case ECONNRESET: case EPIPE: return CR_RESET;
	case EAGAIN: case ETIMEDOUT: return CR_TIMEOUT;
	default: return CR_ERROR;
	}
}

static void cl_result(int c, int r, const char *what, int e, long long off)
{
	pthread_mutex_lock(&cl.lock);
	cl.count[r]++;
	if (r != CR_OK && cl.reported < 10) {
		cl.reported++;
		fprintf(stderr, "mp_echo client: conn %d: %s at byte %lld: %s (%.3f s)\n",
			c, what, off, r == CR_MISMATCH ? "bytes differ" :
			r == CR_EOF ? "EOF" : strerror(e),
			(now_ms() - cl.t0) / 1000.0);
	}
	pthread_mutex_unlock(&cl.lock);
}

static void one_conn(int c)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = { 10, 0 };
	uint8_t out[8192], in[8192];
	long long off = 0;

	if (fd < 0) {
		cl_result(c, CR_ERROR, "socket", errno, 0);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&cl.sa, sizeof(cl.sa)) < 0) {
		cl_result(c, classify(errno), "connect", errno, 0);
		close(fd);
		return;
	}
	while (off < cl.bytes) {
		size_t k = (size_t)(cl.bytes - off), got = 0, j;

		if (k > sizeof(out))
			k = sizeof(out);
		/* chunk sizes vary with the connection: 8 KiB, then odd ones */
		if (k > 1000 + (size_t)(c % 7) * 1000 && off)
			k = 1000 + (size_t)(c % 7) * 1000;
		for (j = 0; j < k; j++)
			out[j] = pat(cl.seed, (uint32_t)c, (uint64_t)off + j);
		if (send(fd, out, k, MSG_NOSIGNAL) != (ssize_t)k) {
			cl_result(c, classify(errno), "send", errno, off);
			close(fd);
			return;
		}
		while (got < k) {
			ssize_t r = recv(fd, in + got, k - got, 0);

			if (r <= 0) {
				cl_result(c, r == 0 ? CR_EOF : classify(errno), "recv", errno,
					  off + (long long)got);
				close(fd);
				return;
			}
			got += (size_t)r;
		}
		if (memcmp(in, out, k)) {
			cl_result(c, CR_MISMATCH, "compare", 0, off);
			close(fd);
			return;
		}
		off += (long long)k;
	}
	pthread_mutex_lock(&cl.lock);
	cl.moved += (unsigned long long)off;
	pthread_mutex_unlock(&cl.lock);
	shutdown(fd, SHUT_WR);
	ssize_t r = recv(fd, in, sizeof(in), 0);

	if (r != 0) {
		cl_result(c, r > 0 ? CR_MISMATCH : classify(errno), "waiting for the server's EOF",
			  errno, off);
		close(fd);
		return;
	}
	close(fd);
	cl_result(c, CR_OK, "", 0, off);
}

static void *cl_worker(void *arg)
{
	int c;

	(void)arg;
	while ((c = __atomic_fetch_add(&cl.next, 1, __ATOMIC_RELAXED)) < cl.n)
		one_conn(c);
	return NULL;
}

static int client(int argc, char **argv)
{
	int conc, i;
	pthread_t th[256];

	if (argc < 5)
		die("client ADDR PORT N C BYTES [SEED]");
	cl.sa = sin_of(argv[0], argv[1]);
	cl.n = atoi(argv[2]);
	conc = atoi(argv[3]);
	cl.bytes = atoi(argv[4]);
	cl.seed = argc > 5 ? (uint32_t)strtoul(argv[5], NULL, 0) : 1;
	if (conc < 1 || conc > 256 || cl.n < 1)
		die("client: C must be 1..256, N >= 1");
	signal(SIGPIPE, SIG_IGN);
	cl.t0 = now_ms();
	for (i = 0; i < conc; i++)
		if (pthread_create(&th[i], NULL, cl_worker, NULL))
			die("pthread_create");
	for (i = 0; i < conc; i++)
		pthread_join(th[i], NULL);
	printf("RESULT conns %d", cl.n);
	for (i = 0; i < CR__N; i++)
		printf(" %s %llu", r_names[i], cl.count[i]);
	printf(" bytes %llu\n", cl.moved);
	fprintf(stderr, "mp_echo client: %d connections in %.2f s\n", cl.n,
		(now_ms() - cl.t0) / 1000.0);
	return cl.count[CR_OK] == (unsigned long long)cl.n ? 0 : 1;
}

/* ------------------------------------------------------------ hold */

enum hstate { H_CONNECTING, H_ECHO, H_IDLE, H_DONE, H_FAILED };

struct hconn {
	int fd;
	enum hstate st;
	int round;
	size_t got;
	uint8_t buf[64];
	int port;
};

static void hmsg(struct hconn *h, int i, uint8_t *m)
{
	for (int j = 0; j < 64; j++)
		m[j] = pat(7, (uint32_t)i, (uint64_t)h->round * 64 + (uint64_t)j);
}

static int hold_send(struct hconn *h, int i)
{
	uint8_t m[64];

	hmsg(h, i, m);
	h->got = 0;
	h->st = H_ECHO;
	return send(h->fd, m, sizeof(m), MSG_NOSIGNAL) == (ssize_t)sizeof(m) ? 0 : -1;
}

static int cmp_port(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static int hold(int argc, char **argv)
{
	struct sockaddr_in sa;
	int n, secs, gone = 0, opt, i;
	const char *heldf, *gof, *portsf = NULL;
	struct hconn *hs;
	struct pollfd *pf;
	int *idx;
	long long deadline;
	int connected = 0, echo1 = 0, ended = 0, echo2 = 0, learned = 0, echoing = 0;
	int started = 0, inflight = 0;
	int errs_shown = 0;

	if (argc < 6)
		die("hold ADDR PORT N HELDFILE GOFILE SECS [-g] [-p PORTSFILE]");
	sa = sin_of(argv[0], argv[1]);
	n = atoi(argv[2]);
	heldf = argv[3];
	gof = argv[4];
	secs = atoi(argv[5]);
	optind = 6;
	while ((opt = getopt(argc, argv, "gp:")) != -1) {
		if (opt == 'g')
			gone = 1;
		else if (opt == 'p')
			portsf = optarg;
		else
			die("hold: unknown option");
	}
	if (n < 1 || secs < 1)
		die("hold: N and SECS must be positive");
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	hs = calloc((size_t)n, sizeof(*hs));
	pf = calloc((size_t)n, sizeof(*pf));
	idx = calloc((size_t)n, sizeof(*idx));
	if (!hs || !pf || !idx)
		die("calloc");
	deadline = now_ms() + secs * 1000LL;
	long long t0 = now_ms();

#define HFAIL(i, what, e) do { \
	if (errs_shown++ < 10) \
		fprintf(stderr, "mp_echo hold: conn %d: %s: %s\n", (i), (what), \
			(e) ? strerror(e) : "EOF"); \
	close(hs[i].fd); hs[i].fd = -1; hs[i].st = H_FAILED; \
} while (0)

	/* Phase 1: connect all (at most 256 in flight), one echo round each. */
	for (;;) {
		int np = 0, busy = 0;

		while (started < n && inflight < 256) {
			struct hconn *h = &hs[started];

			h->fd = socket(AF_INET, SOCK_STREAM, 0);
			if (h->fd < 0)
				die("socket (conn %d)", started);
			set_nonblock(h->fd);
			if (connect(h->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
			    errno != EINPROGRESS) {
				HFAIL(started, "connect", errno);
			} else {
				h->st = H_CONNECTING;
				inflight++;
			}
			started++;
		}
		for (i = 0; i < started; i++) {
			if (hs[i].st == H_CONNECTING || hs[i].st == H_ECHO) {
				pf[np].fd = hs[i].fd;
				pf[np].events = hs[i].st == H_CONNECTING ? POLLOUT : POLLIN;
				pf[np].revents = 0;
				idx[np++] = i;
				busy++;
			}
		}
		if (!busy && started == n)
			break;
		long long left = deadline - now_ms();

		if (left <= 0) {
			fprintf(stderr, "mp_echo hold: %d connections not done with the first round after %d s\n",
				busy, secs);
			break;
		}
		if (poll(pf, (nfds_t)np, (int)(left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
			die("poll");
		for (int k = 0; k < np; k++) {
			struct hconn *h = &hs[idx[k]];

			i = idx[k];
			if (!pf[k].revents)
				continue;
			if (h->st == H_CONNECTING) {
				int err = 0;
				socklen_t l = sizeof(err);
				struct sockaddr_in me;
				socklen_t ml = sizeof(me);

				inflight--;
				getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &l);
				if (err) {
					HFAIL(i, "connect", err);
					continue;
				}
				connected++;
				if (getsockname(h->fd, (struct sockaddr *)&me, &ml) == 0)
					h->port = ntohs(me.sin_port);
				if (hold_send(h, i) < 0)
					HFAIL(i, "send (first round)", errno);
				continue;
			}
			ssize_t r = recv(h->fd, h->buf + h->got, sizeof(h->buf) - h->got, 0);

			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				HFAIL(i, "recv (first round)", r == 0 ? 0 : errno);
				continue;
			}
			h->got += (size_t)r;
			if (h->got == sizeof(h->buf)) {
				uint8_t m[64];

				hmsg(h, i, m);
				if (memcmp(m, h->buf, sizeof(m))) {
					HFAIL(i, "first round: the echo differs", 0);
					continue;
				}
				echo1++;
				h->round = 1;
				h->st = H_IDLE;
			}
		}
	}
	fprintf(stderr, "mp_echo hold: first round of %d connections in %.2f s\n", n,
		(now_ms() - t0) / 1000.0);
	printf("connected: %d\nfirst echo ok: %d\n", connected, echo1);

	/* Ports: distinct, and written out. */
	{
		int *ps = calloc((size_t)n, sizeof(int)), np = 0, d = 0;
		FILE *f = portsf ? fopen(portsf, "w") : NULL;

		if (!ps || (portsf && !f))
			die("ports file %s", portsf ? portsf : "");
		for (i = 0; i < n; i++)
			if (hs[i].port) {
				ps[np++] = hs[i].port;
				if (f)
					fprintf(f, "%d\n", hs[i].port);
			}
		if (f)
			fclose(f);
		qsort(ps, (size_t)np, sizeof(int), cmp_port);
		for (i = 0; i < np; i++)
			if (i == 0 || ps[i] != ps[i - 1])
				d++;
		printf("distinct local ports: %d\n", d);
		free(ps);
	}
	fflush(stdout);

	/* Held: nothing may arrive until GOFILE exists. */
	{
		int fd = open(heldf, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0)
			die("create %s", heldf);
		close(fd);
	}
	for (;;) {
		struct stat stb;
		int np = 0;

		if (stat(gof, &stb) == 0)
			break;
		if (now_ms() > deadline) {
			fprintf(stderr, "mp_echo hold: no %s within %d s\n", gof, secs);
			break;
		}
		for (i = 0; i < n; i++)
			if (hs[i].st == H_IDLE) {
				pf[np].fd = hs[i].fd;
				pf[np].events = POLLIN;
				pf[np].revents = 0;
				idx[np++] = i;
			}
		if (poll(pf, (nfds_t)np, 50) < 0 && errno != EINTR)
			die("poll");
		for (int k = 0; k < np; k++) {
			struct hconn *h = &hs[idx[k]];
			char b[256];

			if (!pf[k].revents)
				continue;
			ssize_t r = recv(h->fd, b, sizeof(b), MSG_DONTWAIT);

			if (r < 0 && errno == EAGAIN)
				continue;
			ended++;
			if (gone) {
				/* expected: the server is gone; an EOF or a reset
				 * while idle is how the peer learns it */
				if (r <= 0) {
					learned++;
					close(h->fd);
					h->fd = -1;
					h->st = H_DONE;
				} else {
					HFAIL(idx[k], "stray data while held", 0);
				}
				continue;
			}
			HFAIL(idx[k], r > 0 ? "stray data while held" : "ended while held",
			      r == 0 ? 0 : r > 0 ? 0 : errno);
		}
	}
	if (!gone)
		printf("ended while held: %d\n", ended);
	fflush(stdout);

	/* Phase 2. */
	for (i = 0; i < n; i++)
		if (hs[i].st == H_IDLE && hold_send(&hs[i], i) < 0) {
			int e = errno;

			if (gone && (e == EPIPE || e == ECONNRESET)) {
				learned++;
				close(hs[i].fd);
				hs[i].fd = -1;
				hs[i].st = H_DONE;
			} else {
				HFAIL(i, "send (second round)", e);
			}
		}
	deadline = now_ms() + secs * 1000LL;
	for (;;) {
		int np = 0;

		for (i = 0; i < n; i++)
			if (hs[i].st == H_ECHO) {
				pf[np].fd = hs[i].fd;
				pf[np].events = POLLIN;
				pf[np].revents = 0;
				idx[np++] = i;
			}
		if (!np)
			break;
		long long left = deadline - now_ms();

		if (left <= 0)
			break;
		if (poll(pf, (nfds_t)np, (int)(left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
			die("poll");
		for (int k = 0; k < np; k++) {
			struct hconn *h = &hs[idx[k]];

			i = idx[k];
			if (!pf[k].revents)
				continue;
			ssize_t r = recv(h->fd, h->buf + h->got, sizeof(h->buf) - h->got, 0);

			if (r < 0 && errno == EAGAIN)
				continue;
			if (r <= 0) {
				if (gone && (r == 0 || errno == ECONNRESET || errno == EPIPE)) {
					learned++;
					close(h->fd);
					h->fd = -1;
					h->st = H_DONE;
				} else {
					HFAIL(i, "recv (second round)", r == 0 ? 0 : errno);
				}
				continue;
			}
			h->got += (size_t)r;
			if (h->got == sizeof(h->buf)) {
				uint8_t m[64];

				hmsg(h, i, m);
				if (gone) {
					echoing++;
					h->st = H_DONE;
				} else if (memcmp(m, h->buf, sizeof(m))) {
					HFAIL(i, "second round: the echo differs", 0);
				} else {
					echo2++;
					h->st = H_DONE;
				}
			}
		}
	}
	int silent = 0;

	for (i = 0; i < n; i++)
		if (hs[i].st == H_ECHO)
			silent++;
	if (gone) {
		printf("learned gone: %d\nstill echoing: %d\nno answer: %d\n", learned, echoing, silent);
	} else {
		if (silent)
			fprintf(stderr, "mp_echo hold: %d connections got no second echo within %d s\n",
				silent, secs);
		printf("second echo ok: %d\n", echo2);
	}
	fflush(stdout);
	for (i = 0; i < n; i++)
		if (hs[i].fd >= 0 && hs[i].st != H_FAILED)
			close(hs[i].fd);
	if (gone)
		return connected == n && echo1 == n && learned == n ? 0 : 1;
	return connected == n && echo1 == n && ended == 0 && echo2 == n ? 0 : 1;
}

/* ------------------------------------------------------------ idle */

struct iconn {
	pthread_t th;
	int fd, port, err;      /* err: 0 EOF, -1 data, else the errno */
	long long ms;
};

static long long real_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void *idle_wait(void *arg)
{
	struct iconn *c = arg;
	char b[64];
	ssize_t r = recv(c->fd, b, sizeof(b), 0);

	c->ms = real_ms();
	c->err = r == 0 ? 0 : r > 0 ? -1 : errno;
	return NULL;
}

static int idle(int argc, char **argv)
{
	struct sockaddr_in sa;
	struct iconn *cs;
	int n, secs, connected = 0, echo1 = 0, reset = 0, eof = 0, noend = 0, other = 0;
	FILE *ends;

	if (argc < 6)
		die("idle ADDR PORT N READYFILE ENDSFILE SECS");
	sa = sin_of(argv[0], argv[1]);
	n = atoi(argv[2]);
	secs = atoi(argv[5]);
	if (n < 1 || secs < 1)
		die("idle: N and SECS must be positive");
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	cs = calloc((size_t)n, sizeof(*cs));
	if (!cs)
		die("calloc");
	for (int i = 0; i < n; i++) {
		struct iconn *c = &cs[i];
		struct timeval tv = { .tv_sec = 10 };
		struct sockaddr_in me;
		socklen_t ml = sizeof(me);
		char m[64], b[64];
		size_t got = 0;

		c->fd = socket(AF_INET, SOCK_STREAM, 0);
		if (c->fd < 0)
			die("socket (conn %d)", i);
		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			die("connect (conn %d)", i);
		connected++;
		if (getsockname(c->fd, (struct sockaddr *)&me, &ml) == 0)
			c->port = ntohs(me.sin_port);
		memset(m, 'a' + i % 26, sizeof(m));
		if (send(c->fd, m, sizeof(m), 0) != (ssize_t)sizeof(m))
			die("send (conn %d)", i);
		while (got < sizeof(b)) {
			ssize_t r = recv(c->fd, b + got, sizeof(b) - got, 0);

			if (r <= 0)
				die("recv (conn %d): %s", i, r ? "error" : "EOF");
			got += (size_t)r;
		}
		if (memcmp(m, b, sizeof(m)))
			die("conn %d: the echo differs", i);
		echo1++;
	}
	printf("connected: %d\nfirst echo ok: %d\n", connected, echo1);
	for (int i = 0; i < n; i++) {
		struct timeval tv = { .tv_sec = secs };

		setsockopt(cs[i].fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (pthread_create(&cs[i].th, NULL, idle_wait, &cs[i]))
			die("pthread_create (conn %d)", i);
	}
	int fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("create %s", argv[3]);
	close(fd);
	ends = fopen(argv[4], "w");
	if (!ends)
		die("open %s", argv[4]);
	for (int i = 0; i < n; i++) {
		struct iconn *c = &cs[i];
		const char *how;

		pthread_join(c->th, NULL);
		if (c->err == ECONNRESET) {
			how = "reset";
			reset++;
		} else if (c->err == 0) {
			how = "eof";
			eof++;
		} else if (c->err == EAGAIN) {
			how = "timeout";
			noend++;
		} else {
			how = c->err < 0 ? "data" : strerror(c->err);
			other++;
		}
		fprintf(ends, "%d %d %s %lld\n", i, c->port, how, c->ms);
		close(c->fd);
	}
	fclose(ends);
	printf("reset: %d\neof: %d\nno end: %d\nother: %d\n", reset, eof, noend, other);
	return reset + eof == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 4 && !strcmp(argv[1], "serve"))
		return serve_tcp(argv[2], argv[3]);
	if (argc >= 4 && !strcmp(argv[1], "userve"))
		return serve_udp(argv[2], argv[3]);
	if (argc >= 2 && !strcmp(argv[1], "client"))
		return client(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "hold"))
		return hold(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "idle"))
		return idle(argc - 2, argv + 2);
	fprintf(stderr, "usage: mp_echo serve|userve ADDR PORT\n"
		"       mp_echo client ADDR PORT N C BYTES [SEED]\n"
		"       mp_echo hold ADDR PORT N HELDFILE GOFILE SECS [-g] [-p PORTSFILE]\n"
		"       mp_echo idle ADDR PORT N READYFILE ENDSFILE SECS\n");
	return 2;
}
