/*
 * mp_bind - one process's part in a port-space probe of the multi-process
 * tests (multiproc_ports.sh, multiproc_kill.sh). Plain C, no stack code:
 * the same binary on the kernel and under libmtcp.so; its stdout is
 * deterministic (results and errno names, never a port number), so a
 * sequence of probes run on the kernel and under the preload can be
 * diffed.
 *
 *   mp_bind [OPTIONS] LABEL ADDR PORT
 *
 * binds a TCP (or UDP) socket to ADDR:PORT and prints "LABEL: bind 0" or
 * "LABEL: bind -1 EADDRINUSE"; PORT is a number, or @FILE for the port
 * another run wrote to FILE (-o).
 *
 *   -u          UDP instead of TCP
 *   -a          SO_REUSEADDR before bind
 *   -P          SO_REUSEPORT before bind
 *   -l          listen (backlog 128) after a bind that succeeded:
 *               "LABEL: listen 0"
 *   -C A:P      no bind: connect (blocking, 5 s) to A:P, which binds an
 *               ephemeral port: "LABEL: connect 0"
 *   -o FILE     write the local port (after bind or connect) to FILE
 *   -R MS       a bind that fails with EADDRINUSE is tried again every
 *               20 ms for up to MS; the success time (CLOCK_REALTIME, in
 *               ms) goes to -T FILE, the wait to stderr
 *   -T FILE     see -R
 *   -A          with -l: accept one connection (10 s at most), read a line
 *               and send it back: "LABEL: accept 0", "LABEL: echo ok"
 *   -H SECS     then hold everything for up to SECS, until SIGTERM or
 *               SIGINT: prints "LABEL: holding"; with -l, accepts
 *               connections meanwhile and echoes them (closing each at its
 *               EOF); at the end "LABEL: accepted any: yes|no" (the count
 *               on stderr: "LABEL: accepted N")
 *
 * Exit status 0 whatever the results (they are the output); 2 when the
 * probe itself could not run (bad arguments, socket() failed).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static const char *errname(int e)
{
	switch (e) {
#define E(x) case x: return #x;
	E(EADDRINUSE) E(EADDRNOTAVAIL) E(EINVAL) E(EACCES) E(EPERM) E(EBADF)
	E(ENOTSOCK) E(EAFNOSUPPORT) E(ECONNREFUSED) E(ECONNRESET) E(ETIMEDOUT)
	E(EHOSTUNREACH) E(ENETUNREACH) E(EAGAIN) E(EINTR) E(EISCONN)
	E(EINPROGRESS) E(EOPNOTSUPP) E(ENOBUFS) E(ENOMEM) E(EMFILE) E(EPIPE)
#undef E
	}
	static char buf[32];

	snprintf(buf, sizeof(buf), "errno%d", e);
	return buf;
}

static const char *label;

static void say(const char *what, int r, int e)
{
	if (r < 0)
		printf("%s: %s -1 %s\n", label, what, errname(e));
	else
		printf("%s: %s %d\n", label, what, r);
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr, "usage: mp_bind [-u] [-a] [-P] [-l] [-C A:P] [-o FILE] [-R MS] "
		"[-T FILE] [-A] [-H SECS] LABEL ADDR PORT|@FILE\n");
	exit(2);
}

static long long mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int read_port(const char *s)
{
	if (s[0] != '@')
		return atoi(s);
	FILE *f = fopen(s + 1, "r");
	int p = -1;

	if (!f || fscanf(f, "%d", &p) != 1) {
		fprintf(stderr, "mp_bind: no port in %s\n", s + 1);
		exit(2);
	}
	fclose(f);
	return p;
}

static void write_num(const char *path, long long v)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "mp_bind: cannot write %s: %s\n", path, strerror(errno));
		exit(2);
	}
	fprintf(f, "%lld\n", v);
	fclose(f);
}

/* A line from fd (10 s at most), sent back. 0 or -1. */
static int echo_line(int fd)
{
	char buf[256];
	size_t n = 0;
	long long end = mono_ms() + 10000;

	while (n < sizeof(buf)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = end - mono_ms();

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		ssize_t r = recv(fd, buf + n, sizeof(buf) - n, 0);

		if (r <= 0)
			return -1;
		n += (size_t)r;
		if (memchr(buf, '\n', n))
			break;
	}
	return send(fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

int main(int argc, char **argv)
{
	int udp = 0, reuseaddr = 0, reuseport = 0, lis = 0, acc1 = 0, opt;
	int hold = 0, retry_ms = 0;
	const char *conn = NULL, *portf = NULL, *tsf = NULL;
	struct sockaddr_in a;
	int fd, one = 1, r, bound = 0;

	while ((opt = getopt(argc, argv, "uaPlC:o:R:T:AH:")) != -1) {
		switch (opt) {
		case 'u': udp = 1; break;
		case 'a': reuseaddr = 1; break;
		case 'P': reuseport = 1; break;
		case 'l': lis = 1; break;
		case 'C': conn = optarg; break;
		case 'o': portf = optarg; break;
		case 'R': retry_ms = atoi(optarg); break;
		case 'T': tsf = optarg; break;
		case 'A': acc1 = 1; break;
		case 'H': hold = atoi(optarg); break;
		default: usage();
		}
	}
	if (argc - optind != 3)
		usage();
	label = argv[optind];
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	if (inet_pton(AF_INET, argv[optind + 1], &a.sin_addr) != 1)
		usage();
	a.sin_port = htons((unsigned short)read_port(argv[optind + 2]));
	signal(SIGPIPE, SIG_IGN);
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_stop;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
	}

	fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (fd < 0) {
		fprintf(stderr, "mp_bind: socket: %s\n", strerror(errno));
		return 2;
	}
	if (reuseaddr)
		say("SO_REUSEADDR", setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), errno);
	if (reuseport)
		say("SO_REUSEPORT", setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), errno);

	if (conn) {
		char host[64];
		const char *colon = strchr(conn, ':');
		struct sockaddr_in c;
		struct timeval tv = { 5, 0 };

		if (!colon || (size_t)(colon - conn) >= sizeof(host))
			usage();
		memcpy(host, conn, (size_t)(colon - conn));
		host[colon - conn] = 0;
		memset(&c, 0, sizeof(c));
		c.sin_family = AF_INET;
		c.sin_port = htons((unsigned short)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &c.sin_addr) != 1)
			usage();
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		r = connect(fd, (struct sockaddr *)&c, sizeof(c));
		say("connect", r, errno);
		bound = r == 0;
	} else {
		long long t0 = mono_ms();

		for (;;) {
			r = bind(fd, (struct sockaddr *)&a, sizeof(a));
			if (r == 0 || errno != EADDRINUSE || mono_ms() - t0 >= retry_ms)
				break;
			usleep(20000);
		}
		int e = errno;

		if (retry_ms)
			fprintf(stderr, "%s: bind %s after %lld ms\n", label,
				r == 0 ? "succeeded" : "failed", mono_ms() - t0);
		if (r == 0 && tsf) {
			struct timespec t;

			clock_gettime(CLOCK_REALTIME, &t);
			write_num(tsf, (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000);
		}
		say("bind", r, e);
		bound = r == 0;
		if (bound && lis)
			say("listen", listen(fd, 128), errno);
	}
	if (bound && portf) {
		struct sockaddr_in me;
		socklen_t l = sizeof(me);

		if (getsockname(fd, (struct sockaddr *)&me, &l) == 0)
			write_num(portf, ntohs(me.sin_port));
	}
	if (bound && lis && acc1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int c = -1;

		if (poll(&p, 1, 10000) == 1)
			c = accept(fd, NULL, NULL);
		else
			errno = ETIMEDOUT;
		say("accept", c < 0 ? -1 : 0, errno);
		if (c >= 0) {
			printf("%s: echo %s\n", label, echo_line(c) == 0 ? "ok" : "failed");
			fflush(stdout);
			close(c);
		}
	}
	if (hold > 0) {
		struct pollfd p[65];
		int np = 1, accepted = 0;
		long long end = mono_ms() + hold * 1000LL;

		printf("%s: holding\n", label);
		fflush(stdout);
		p[0].fd = fd;
		p[0].events = bound && lis ? POLLIN : 0;
		while (!stop && mono_ms() < end) {
			for (int i = 0; i < np; i++)
				p[i].revents = 0;
			if (poll(p, (nfds_t)np, 100) <= 0)
				continue;
			for (int i = np; i-- > 1;) {
				char buf[4096];

				if (!p[i].revents)
					continue;
				ssize_t n = recv(p[i].fd, buf, sizeof(buf), MSG_DONTWAIT);

				if (n > 0) {
					if (send(p[i].fd, buf, (size_t)n, MSG_NOSIGNAL) == n)
						continue;
				} else if (n < 0 && errno == EAGAIN) {
					continue;
				}
				close(p[i].fd);
				p[i] = p[--np];
			}
			if (p[0].revents & POLLIN) {
				int c = accept(fd, NULL, NULL);

				if (c >= 0) {
					accepted++;
					if (np < 65) {
						p[np].fd = c;
						p[np].events = POLLIN;
						np++;
					} else {
						close(c);
					}
				}
			}
		}
		for (int i = 1; i < np; i++)
			close(p[i].fd);
		if (bound && lis) {
			printf("%s: accepted any: %s\n", label, accepted ? "yes" : "no");
			fprintf(stderr, "%s: accepted %d\n", label, accepted);
		}
	}
	close(fd);
	return 0;
}
