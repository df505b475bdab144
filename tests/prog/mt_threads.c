/*
 * mt_threads - many threads doing blocking socket I/O at once, against
 * kernel peers (tests/integration/preload_threads.sh runs it plain and
 * under libmtcp.so, also with ThreadSanitizer). All groups run at the
 * same time:
 *
 *  (a) A threads, each with its own TCP connection to the echo service,
 *      send MiB of a seeded pattern in random-sized chunks and read every
 *      chunk back, byte-compared;
 *  (b) two threads share one connection to the echo service: one sends B
 *      MiB of a pattern in random-sized writes, then shutdown(SHUT_WR);
 *      the other reads until EOF and checks every byte and the count;
 *  (c) an opener thread makes K connections to the delay service (which
 *      holds a request for D ms, then sends its payload back and closes),
 *      a reader thread per connection blocks in one recv(MSG_WAITALL),
 *      and a closer thread close()s every one of those fds while its
 *      reader is blocked. As on Linux, the close neither wakes nor breaks
 *      the blocked recv: it returns the payload (or 0 when the payload is
 *      empty). While the readers are still blocked the opener makes K
 *      echo connections, which reuse the closed numbers, and checks a
 *      round trip on each: the old sockets must not answer for them;
 *  (u) U threads, each with a connected UDP socket, echo datagrams of
 *      random sizes off the UDP echo service, checking the source,
 *      sequence and payload (a lost datagram is sent again, at most 3
 *      times).
 *
 *   mt_threads [-a A] [-A MiB] [-B MiB] [-c K] [-d MS] [-u U] [-U N]
 *              [-s SEED] ADDR ECHO_PORT DELAY_PORT UDP_PORT
 *
 * Delay service protocol: the client sends a 4-byte delay in ms, a 4-byte
 * length (both big endian) and that many bytes; the server waits, sends
 * the bytes back and closes.
 *
 * Prints "ok: ..." or "FAIL: ..." (what differed) per check and a
 * summary line; exits 0 only if every check passed, 1 otherwise, 3 when
 * the 60 s alarm fires (with the groups still running). Plain C, no
 * stack library: the same binary runs on the kernel and under LD_PRELOAD.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MIB		(1 << 20)
#define MAX_A		32
#define MAX_K		32
#define MAX_U		16
#define UDP_MAX		1400

/* Settings, read-only once the threads start. */
static int opt_a = 4, opt_mib_a = 4, opt_mib_b = 8, opt_k = 6;
static int opt_delay = 2000, opt_u = 2, opt_dgrams = 200;
static uint32_t opt_seed = 1;
static struct sockaddr_in echo_sa, delay_sa, udp_sa;

/* Results: every check prints one line. */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static int n_checks, n_failed;	/* out_lock */
static struct timespec t_start;	/* set before the threads start */

static void report(int good, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void report(int good, const char *fmt, ...)
{
	struct timespec t;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &t);
	pthread_mutex_lock(&out_lock);
	n_checks++;
	if (!good)
		n_failed++;
	fputs(good ? "ok: " : "FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!good)	/* when, to match with a capture or a log */
		printf(" (at %.3f s)", (t.tv_sec - t_start.tv_sec) +
		       (t.tv_nsec - t_start.tv_nsec) / 1e9);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

#define fail(...)	report(0, __VA_ARGS__)
#define pass(...)	report(1, __VA_ARGS__)

/* The groups still running, for the alarm's message. */
static int running[256];

static void on_alarm(int sig)
{
	static const char msg[] = "mt_threads: FAIL: 60 s alarm; still running:";
	char c[3] = " x";
	int i;

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	for (i = 'a'; i <= 'z'; i++) {
		if (__atomic_load_n(&running[i], __ATOMIC_RELAXED)) {
			c[1] = (char)i;
			if (write(2, c, 2) < 0)
				break;
		}
	}
	if (write(2, "\n", 1) < 0)
		_exit(3);
	_exit(3);
}

/* --- the pattern --- */

/* Byte i of stream seed: a mix of (seed, i / 8) (splitmix64's finaliser),
 * so a lost, doubled or reordered byte shows at its offset. */
static uint8_t pat(uint32_t seed, uint64_t i)
{
	uint64_t x = (i >> 3) * 0x9e3779b97f4a7c15ull ^
		     ((uint64_t)seed << 32 | seed) * 0xbf58476d1ce4e5b9ull;

	x ^= x >> 31;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 29;
	return (uint8_t)(x >> ((i & 7) * 8));
}

static void pat_fill(uint8_t *buf, size_t n, uint32_t seed, uint64_t off)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = pat(seed, off + i);
}

/* The first offset in buf[0, n) that is not the pattern, or -1. */
static long pat_check(const uint8_t *buf, size_t n, uint32_t seed,
		      uint64_t off)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (buf[i] != pat(seed, off + i))
			return (long)i;
	return -1;
}

static uint32_t rnd(uint32_t *s)
{
	/* xorshift32 (Marsaglia 2003) */
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* --- socket helpers --- */

static int tcp_connect(const struct sockaddr_in *sa, const char *who)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0) {
		fail("%s: socket: %s", who, strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa))) {
		fail("%s: connect to %s:%d: %s", who, inet_ntoa(sa->sin_addr),
		     ntohs(sa->sin_port), strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* 0, or -1 with errno (0 for a send that made no progress). */
static int send_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t r = send(fd, p, n, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = 0;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Bytes read, short only at EOF; -1 with errno. */
static ssize_t recv_all(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < n) {
		ssize_t r = recv(fd, p + got, n - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static void close_checked(int fd, const char *who)
{
	if (close(fd))
		fail("%s: close(%d): %s", who, fd, strerror(errno));
}

/* --- (a) one connection per thread --- */

struct a_arg {
	int id;
	pthread_t th;
};

static void *a_thread(void *arg)
{
	struct a_arg *a = arg;
	uint32_t seed = opt_seed * 1000 + (uint32_t)a->id, r = seed | 1;
	uint64_t total = (uint64_t)opt_mib_a * MIB, off = 0;
	uint8_t *out = malloc(65536), *in = malloc(65536);
	char who[32];
	int fd;

	snprintf(who, sizeof(who), "(a) conn %d", a->id);
	fd = tcp_connect(&echo_sa, who);
	if (fd < 0 || !out || !in)
		goto done;
	while (off < total) {
		size_t n = 1 + rnd(&r) % 65536;
		ssize_t got;
		long bad;

		if (n > total - off)
			n = (size_t)(total - off);
		pat_fill(out, n, seed, off);
		if (send_all(fd, out, n)) {
			fail("%s: send at offset %llu: %s", who,
			     (unsigned long long)off, strerror(errno));
			goto out;
		}
		got = recv_all(fd, in, n);
		if (got != (ssize_t)n) {
			fail("%s: read back %zd of %zu bytes at offset %llu%s%s",
			     who, got, n, (unsigned long long)off,
			     got < 0 ? ": " : " (EOF)",
			     got < 0 ? strerror(errno) : "");
			goto out;
		}
		bad = pat_check(in, n, seed, off);
		if (bad >= 0) {
			fail("%s: byte %llu came back 0x%02x, sent 0x%02x", who,
			     (unsigned long long)(off + (uint64_t)bad), in[bad],
			     out[bad]);
			goto out;
		}
		off += n;
	}
	/* Our FIN: the echo service answers with its own. */
	if (shutdown(fd, SHUT_WR))
		fail("%s: shutdown: %s", who, strerror(errno));
	else if (recv(fd, in, 1, 0) != 0)
		fail("%s: expected EOF after shutdown, got %s", who,
		     strerror(errno));
	else
		pass("%s: %llu bytes echoed byte-identical, then EOF", who,
		     (unsigned long long)total);
out:
	close_checked(fd, who);
done:
	free(out);
	free(in);
	return NULL;
}

/* --- (b) one connection, a sender and a receiver thread --- */

static int b_fd = -1;
static uint64_t b_sent, b_got;		/* written by one thread each */

static void *b_sender(void *arg)
{
	uint32_t seed = opt_seed * 1000 + 500, r = seed | 1;
	uint64_t total = (uint64_t)opt_mib_b * MIB, off = 0;
	uint8_t *buf = malloc(65536);

	(void)arg;
	if (!buf)
		return NULL;
	while (off < total) {
		size_t n = 1 + rnd(&r) % 65536;

		if (n > total - off)
			n = (size_t)(total - off);
		pat_fill(buf, n, seed, off);
		if (send_all(b_fd, buf, n)) {
			fail("(b) sender: send at offset %llu: %s",
			     (unsigned long long)off, strerror(errno));
			break;
		}
		off += n;
	}
	b_sent = off;
	if (shutdown(b_fd, SHUT_WR))
		fail("(b) sender: shutdown: %s", strerror(errno));
	free(buf);
	return NULL;
}

static void *b_receiver(void *arg)
{
	uint32_t seed = opt_seed * 1000 + 500, r = (seed * 7) | 1;
	uint8_t *buf = malloc(65536);
	uint64_t off = 0;
	int bad_reported = 0;

	(void)arg;
	if (!buf)
		return NULL;
	for (;;) {
		size_t want = 1 + rnd(&r) % 65536;
		ssize_t n = recv(b_fd, buf, want, 0);
		long bad;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail("(b) receiver: recv at offset %llu: %s",
			     (unsigned long long)off, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		bad = pat_check(buf, (size_t)n, seed, off);
		if (bad >= 0 && !bad_reported) {
			fail("(b) receiver: byte %llu is 0x%02x, expected 0x%02x",
			     (unsigned long long)(off + (uint64_t)bad), buf[bad],
			     pat(seed, off + (uint64_t)bad));
			bad_reported = 1;
		}
		off += (uint64_t)n;
	}
	b_got = off;
	free(buf);
	return NULL;
}

static void *b_main(void *arg)
{
	pthread_t s, r;
	uint64_t total = (uint64_t)opt_mib_b * MIB;

	(void)arg;
	b_fd = tcp_connect(&echo_sa, "(b)");
	if (b_fd < 0)
		return NULL;
	pthread_create(&r, NULL, b_receiver, NULL);
	pthread_create(&s, NULL, b_sender, NULL);
	pthread_join(s, NULL);
	pthread_join(r, NULL);
	if (b_sent == total && b_got == total)
		pass("(b) shared connection: %llu bytes sent by one thread, "
		     "read back by another, then EOF",
		     (unsigned long long)total);
	else
		fail("(b) shared connection: sent %llu of %llu, read back %llu",
		     (unsigned long long)b_sent, (unsigned long long)total,
		     (unsigned long long)b_got);
	close_checked(b_fd, "(b)");
	return NULL;
}

/* --- (c) close while another thread is blocked in recv --- */

struct c_conn {
	int fd;
	uint32_t len;		/* payload asked back; 0: just EOF */
	pthread_t th;
	int blocking;		/* the reader is about to call recv */
	ssize_t got;
	int err;
	uint8_t *buf;
};

static struct c_conn c_conns[MAX_K];

static void *c_reader(void *arg)
{
	struct c_conn *c = arg;

	__atomic_store_n(&c->blocking, 1, __ATOMIC_RELEASE);
	/* One call only: once the closer has closed c->fd, the number
	 * may name another socket. */
	do {
		c->got = recv(c->fd, c->buf, c->len ? c->len : 1, MSG_WAITALL);
	} while (c->got < 0 && errno == EINTR);
	c->err = c->got < 0 ? errno : 0;
	return NULL;
}

static void *c_closer(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < opt_k; i++)
		while (!__atomic_load_n(&c_conns[i].blocking, __ATOMIC_ACQUIRE))
			usleep(1000);
	/* Give the last reader time to be inside recv for sure. */
	usleep(200 * 1000);
	for (i = 0; i < opt_k; i++)
		if (close(c_conns[i].fd))
			fail("(c) closer: close(%d) while a reader waits: %s",
			     c_conns[i].fd, strerror(errno));
	return NULL;
}

static void *c_main(void *arg)
{
	int i, reused = 0, echoes_ok = 0, opened = 0, reuse_fd[MAX_K];
	pthread_t closer;
	uint8_t hdr[8];
	char who[32];

	(void)arg;
	for (i = 0; i < opt_k; i++) {
		struct c_conn *c = &c_conns[i];

		c->len = (i % 3 == 2) ? 0 : 1000 + 300 * (uint32_t)i;
		c->buf = malloc(c->len + 1);
		snprintf(who, sizeof(who), "(c) conn %d", i);
		c->fd = tcp_connect(&delay_sa, who);
		if (c->fd < 0 || !c->buf)
			goto fail;
		pat_fill(c->buf, c->len, opt_seed * 1000 + 700 + (uint32_t)i, 0);
		hdr[0] = (uint8_t)(opt_delay >> 24);
		hdr[1] = (uint8_t)(opt_delay >> 16);
		hdr[2] = (uint8_t)(opt_delay >> 8);
		hdr[3] = (uint8_t)opt_delay;
		hdr[4] = (uint8_t)(c->len >> 24);
		hdr[5] = (uint8_t)(c->len >> 16);
		hdr[6] = (uint8_t)(c->len >> 8);
		hdr[7] = (uint8_t)c->len;
		if (send_all(c->fd, hdr, 8) || send_all(c->fd, c->buf, c->len)) {
			fail("%s: send request: %s", who, strerror(errno));
			goto fail;
		}
		memset(c->buf, 0, c->len);
		opened++;
		pthread_create(&c->th, NULL, c_reader, c);
	}
	pthread_create(&closer, NULL, c_closer, NULL);
	pthread_join(closer, NULL);

	/* The readers are still blocked (the service holds every request
	 * for opt_delay ms): new sockets, all open at once, get the lowest
	 * free numbers, the closed ones among them. */
	for (i = 0; i < opt_k; i++) {
		int j;

		snprintf(who, sizeof(who), "(c) reuse %d", i);
		reuse_fd[i] = tcp_connect(&echo_sa, who);
		for (j = 0; j < opt_k; j++)
			if (reuse_fd[i] >= 0 && c_conns[j].fd == reuse_fd[i])
				reused++;
	}
	for (i = 0; i < opt_k; i++) {
		uint8_t out[1000], in[1000];
		int fd = reuse_fd[i];

		if (fd < 0)
			continue;
		snprintf(who, sizeof(who), "(c) reuse %d", i);
		pat_fill(out, sizeof(out), opt_seed * 1000 + 800 + (uint32_t)i, 0);
		if (send_all(fd, out, sizeof(out)))
			fail("%s: send on fd %d: %s", who, fd, strerror(errno));
		else if (recv_all(fd, in, sizeof(in)) != (ssize_t)sizeof(in) ||
			 memcmp(in, out, sizeof(in)))
			fail("%s: echo on fd %d (a closed number reused while "
			     "its old socket's reader waits) wrong", who, fd);
		else
			echoes_ok++;
	}
	for (i = 0; i < opt_k; i++)
		if (reuse_fd[i] >= 0)
			close_checked(reuse_fd[i], "(c) reuse");
	if (echoes_ok == opt_k)
		pass("(c) %d new connections echo correctly while the closed "
		     "sockets' readers wait (%d reused a closed number)",
		     opt_k, reused);

	for (i = 0; i < opt_k; i++) {
		struct c_conn *c = &c_conns[i];
		long bad;

		pthread_join(c->th, NULL);
		snprintf(who, sizeof(who), "(c) conn %d", i);
		if (c->got < 0 && c->err == ECONNRESET) {
			pass("%s: closed under a blocked recv: ECONNRESET "
			     "(tolerated; Linux returns the data)", who);
			continue;
		}
		if (c->got < 0) {
			fail("%s: recv blocked across close() in another "
			     "thread failed: %s (Linux returns the data)", who,
			     strerror(c->err));
			continue;
		}
		if (c->len == 0) {
			if (c->got == 0)
				pass("%s: closed under a blocked recv: EOF when "
				     "the peer closed", who);
			else
				fail("%s: expected EOF, got %zd bytes", who,
				     c->got);
			continue;
		}
		if (c->got == 0) {
			pass("%s: closed under a blocked recv: 0 (tolerated; "
			     "Linux returns the data)", who);
			continue;
		}
		bad = pat_check(c->buf, (size_t)c->got,
				opt_seed * 1000 + 700 + (uint32_t)i, 0);
		if (c->got != (ssize_t)c->len || bad >= 0)
			fail("%s: recv across close() returned %zd of %u bytes"
			     "%s", who, c->got, c->len,
			     bad >= 0 ? ", not the payload" : "");
		else
			pass("%s: closed under a blocked recv, which still "
			     "returned its %u bytes", who, c->len);
	}
	for (i = 0; i < opt_k; i++)
		free(c_conns[i].buf);
	return NULL;
fail:
	/* Unblock what was started: the readers' fds are still open. */
	for (i = 0; i < opened; i++) {
		shutdown(c_conns[i].fd, SHUT_RDWR);
		pthread_join(c_conns[i].th, NULL);
		close(c_conns[i].fd);
	}
	return NULL;
}

/* --- (u) UDP echo from several threads --- */

struct u_arg {
	int id;
	pthread_t th;
};

static void *u_thread(void *arg)
{
	struct u_arg *u = arg;
	uint32_t seed = opt_seed * 1000 + 900 + (uint32_t)u->id, r = seed | 1;
	struct timeval tv = { .tv_sec = 1 };
	uint8_t out[UDP_MAX], in[UDP_MAX + 1];
	int fd, seq, resent = 0;
	char who[32];

	snprintf(who, sizeof(who), "(u) thread %d", u->id);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		fail("%s: socket: %s", who, strerror(errno));
		return NULL;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&udp_sa, sizeof(udp_sa))) {
		fail("%s: setsockopt/connect: %s", who, strerror(errno));
		goto out;
	}
	for (seq = 0; seq < opt_dgrams; seq++) {
		size_t n = 8 + rnd(&r) % (UDP_MAX - 8 + 1);
		int tries = 0;

		memcpy(out, &u->id, 4);
		memcpy(out + 4, &seq, 4);
		pat_fill(out + 8, n - 8, seed, (uint64_t)seq * UDP_MAX);
again:
		if (send(fd, out, n, 0) != (ssize_t)n) {
			fail("%s: send datagram %d: %s", who, seq,
			     strerror(errno));
			goto out;
		}
		for (;;) {
			struct sockaddr_in from;
			socklen_t fl = sizeof(from);
			ssize_t got = recvfrom(fd, in, sizeof(in), 0,
					       (struct sockaddr *)&from, &fl);
			int rseq;

			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				if (++tries > 3) {
					fail("%s: datagram %d: no echo after "
					     "4 sends", who, seq);
					goto out;
				}
				resent++;
				goto again;
			}
			if (got < 0) {
				fail("%s: recv datagram %d: %s", who, seq,
				     strerror(errno));
				goto out;
			}
			if (from.sin_addr.s_addr != udp_sa.sin_addr.s_addr ||
			    from.sin_port != udp_sa.sin_port) {
				fail("%s: datagram from %s:%d, not the peer",
				     who, inet_ntoa(from.sin_addr),
				     ntohs(from.sin_port));
				goto out;
			}
			if (got >= 8) {
				memcpy(&rseq, in + 4, 4);
				if (rseq < seq)
					continue;	/* echo of a resend */
			}
			if (got != (ssize_t)n || memcmp(in, out, n)) {
				fail("%s: datagram %d: %zd bytes back, sent %zu"
				     "%s", who, seq, got, n,
				     got == (ssize_t)n ? ", content differs" : "");
				goto out;
			}
			break;
		}
	}
	pass("%s: %d datagrams echoed byte-identical (%d sent again)", who,
	     opt_dgrams, resent);
out:
	close_checked(fd, who);
	return NULL;
}

/* --- main --- */

static int num(const char *s, int lo, int hi, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi) {
		fprintf(stderr, "mt_threads: bad %s '%s' (%d..%d)\n", what, s,
			lo, hi);
		exit(2);
	}
	return (int)v;
}

static void usage(void)
{
	fprintf(stderr, "usage: mt_threads [-a A] [-A MiB] [-B MiB] [-c K] "
		"[-d MS] [-u U] [-U N] [-s SEED] ADDR ECHO_PORT DELAY_PORT "
		"UDP_PORT\n");
	exit(2);
}

static void sa_set(struct sockaddr_in *sa, struct in_addr a, const char *port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr = a;
	sa->sin_port = htons((uint16_t)num(port, 1, 65535, "port"));
}

static void *run_group(void *arg)
{
	int g = (int)(intptr_t)arg, i;
	struct a_arg as[MAX_A];
	struct u_arg us[MAX_U];

	__atomic_store_n(&running[g], 1, __ATOMIC_RELAXED);
	switch (g) {
	case 'a':
		for (i = 0; i < opt_a; i++) {
			as[i].id = i;
			pthread_create(&as[i].th, NULL, a_thread, &as[i]);
		}
		for (i = 0; i < opt_a; i++)
			pthread_join(as[i].th, NULL);
		break;
	case 'b':
		b_main(NULL);
		break;
	case 'c':
		c_main(NULL);
		break;
	case 'u':
		for (i = 0; i < opt_u; i++) {
			us[i].id = i;
			pthread_create(&us[i].th, NULL, u_thread, &us[i]);
		}
		for (i = 0; i < opt_u; i++)
			pthread_join(us[i].th, NULL);
		break;
	}
	__atomic_store_n(&running[g], 0, __ATOMIC_RELAXED);
	return NULL;
}

int main(int argc, char **argv)
{
	static const char groups[] = "abcu";
	pthread_t th[sizeof(groups)];
	struct timespec t1;
	struct in_addr a;
	int c, i;

	while ((c = getopt(argc, argv, "a:A:B:c:d:u:U:s:")) != -1) {
		switch (c) {
		case 'a': opt_a = num(optarg, 0, MAX_A, "-a"); break;
		case 'A': opt_mib_a = num(optarg, 0, 1024, "-A"); break;
		case 'B': opt_mib_b = num(optarg, 0, 1024, "-B"); break;
		case 'c': opt_k = num(optarg, 0, MAX_K, "-c"); break;
		case 'd': opt_delay = num(optarg, 0, 30000, "-d"); break;
		case 'u': opt_u = num(optarg, 0, MAX_U, "-u"); break;
		case 'U': opt_dgrams = num(optarg, 0, 100000, "-U"); break;
		case 's': opt_seed = (uint32_t)num(optarg, 0, 1000000, "-s"); break;
		default: usage();
		}
	}
	if (argc - optind != 4 || inet_pton(AF_INET, argv[optind], &a) != 1)
		usage();
	sa_set(&echo_sa, a, argv[optind + 1]);
	sa_set(&delay_sa, a, argv[optind + 2]);
	sa_set(&udp_sa, a, argv[optind + 3]);

	signal(SIGALRM, on_alarm);
	alarm(60);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("mt_threads: (a) %d x %d MiB, (b) %d MiB shared, (c) %d closes "
	       "under recv (delay %d ms), (u) %d x %d datagrams, seed %u\n",
	       opt_a, opt_mib_a, opt_mib_b, opt_k, opt_delay, opt_u,
	       opt_dgrams, opt_seed);
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	for (i = 0; groups[i]; i++)
		pthread_create(&th[i], NULL, run_group,
			       (void *)(intptr_t)groups[i]);
	for (i = 0; groups[i]; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	pthread_mutex_lock(&out_lock);
	printf("mt_threads: %d checks, %d failed, %.2f s\n", n_checks, n_failed,
	       (t1.tv_sec - t_start.tv_sec) +
	       (t1.tv_nsec - t_start.tv_nsec) / 1e9);
	c = n_failed || !n_checks;
	pthread_mutex_unlock(&out_lock);
	return c;
}
