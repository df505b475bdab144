/*
 * pingpong - TCP request/response latency: a 1-byte ping, a 1-byte pong,
 * one at a time, TCP_NODELAY on both ends (scripts/mtcp-ab's latency
 * workload).
 *
 *   pingpong server ADDR PORT [SECS]
 *       listen on ADDR:PORT; serve one connection after another, echoing
 *       every byte back until the client closes. Prints
 *       "pingpong: listening ADDR:PORT" once the socket listens. Exits
 *       after SECS seconds (default: never) or on SIGTERM.
 *
 *   pingpong client ADDR PORT N [WARMUP]
 *       connect, do WARMUP round trips (default N / 10, at most 1000)
 *       unmeasured, then N measured ones: send 1 byte, wait for the 1-byte
 *       echo, the time between from clock_gettime(CLOCK_MONOTONIC). Prints
 *       one line (microseconds; percentiles are nearest-rank):
 *         pingpong: n N min_us A p50_us B p90_us C p99_us D max_us E mean_us F
 *
 * Exit status 0, or 1 with a message on stderr (connection lost, a wrong
 * byte), 2 for bad arguments. Plain C and libc only: under LD_PRELOAD the
 * client or the server runs on microtcp.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "pingpong: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: pingpong server ADDR PORT [SECS]\n"
		"       pingpong client ADDR PORT N [WARMUP]\n");
	exit(2);
}

static long parse(const char *s, const char *what, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "pingpong: bad %s '%s' (%ld..%ld)\n", what, s, min, max);
		exit(2);
	}
	return v;
}

static struct sockaddr_in addr_of(const char *a, const char *p)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	if (inet_pton(AF_INET, a, &sin.sin_addr) != 1) {
		fprintf(stderr, "pingpong: bad IPv4 address '%s'\n", a);
		exit(2);
	}
	sin.sin_port = htons((unsigned short)parse(p, "PORT", 1, 65535));
	return sin;
}

static void nodelay(int fd)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		die("setsockopt TCP_NODELAY");
}

/* 1 on a byte read, 0 at end of stream; dies on an error */
static int read1(int fd, char *c)
{
	for (;;) {
		ssize_t n = recv(fd, c, 1, 0);

		if (n == 1)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			die("recv");
	}
}

static void write1(int fd, char c)
{
	for (;;) {
		ssize_t n = send(fd, &c, 1, MSG_NOSIGNAL);

		if (n == 1)
			return;
		if (n < 0 && errno != EINTR)
			die("send");
	}
}

static int server(int argc, char **argv)
{
	struct sockaddr_in sin;
	int lfd, one = 1;

	if (argc < 4 || argc > 5)
		usage();
	sin = addr_of(argv[2], argv[3]);
	if (argc == 5)
		alarm((unsigned)parse(argv[4], "SECS", 1, 86400));
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket");
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die("setsockopt SO_REUSEADDR");
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		die("bind");
	if (listen(lfd, 16) < 0)
		die("listen");
	printf("pingpong: listening %s:%s\n", argv[2], argv[3]);
	fflush(stdout);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		char c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		nodelay(fd);
		while (read1(fd, &c))
			write1(fd, c);
		close(fd);
	}
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* nearest rank: the smallest value with at least p of the samples <= it */
static double pct(const double *v, long n, double p)
{
	long k = (long)(p * n + 0.999999);

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

static int client(int argc, char **argv)
{
	struct sockaddr_in sin;
	long n, warm, i;
	double *rtt, sum = 0;
	int fd;

	if (argc < 5 || argc > 6)
		usage();
	sin = addr_of(argv[2], argv[3]);
	n = parse(argv[4], "N", 1, 100000000);
	warm = argc == 6 ? parse(argv[5], "WARMUP", 0, 100000000) : (n / 10 < 1000 ? n / 10 : 1000);
	rtt = malloc(n * sizeof(*rtt));
	if (!rtt)
		die("malloc");
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	nodelay(fd);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		die("connect");
	for (i = -warm; i < n; i++) {
		char c = (char)('a' + (i & 15)), r;
		double t0 = now_us();

		write1(fd, c);
		if (!read1(fd, &r)) {
			fprintf(stderr, "pingpong: server closed after %ld round trips\n", i + warm);
			return 1;
		}
		if (r != c) {
			fprintf(stderr, "pingpong: sent '%c', got '%c' back\n", c, r);
			return 1;
		}
		if (i >= 0) {
			rtt[i] = now_us() - t0;
			sum += rtt[i];
		}
	}
	close(fd);
	qsort(rtt, n, sizeof(*rtt), cmp_double);
	printf("pingpong: n %ld min_us %.1f p50_us %.1f p90_us %.1f p99_us %.1f max_us %.1f mean_us %.1f\n",
	       n, rtt[0], pct(rtt, n, 0.50), pct(rtt, n, 0.90), pct(rtt, n, 0.99), rtt[n - 1], sum / n);
	free(rtt);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[1], "server"))
		return server(argc, argv);
	if (!strcmp(argv[1], "client"))
		return client(argc, argv);
	usage();
	return 2;
}
