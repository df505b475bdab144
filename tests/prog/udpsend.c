/*
 * udpsend - send N UDP datagrams as fast as sendto returns, from the main
 * thread: the cost of a frame sent from an application thread, measured
 * around one function (valgrind --tool=callgrind --toggle-collect=send_loop).
 *
 *   udpsend ADDR PORT N [SIZE]
 *       sendto ADDR:PORT from an unconnected socket: 10 datagrams, a
 *       200 ms pause (the peer's ARP answer), then N in send_loop. SIZE:
 *       payload bytes (default 64). Prints "udpsend: sent N". Exit 0, or
 *       1 with a message when a send fails, 2 for bad arguments.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static long parse(const char *s, const char *what, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "udpsend: bad %s '%s' (%ld..%ld)\n", what, s, min, max);
		exit(2);
	}
	return v;
}

/* Not inlined: the measurement names it. */
__attribute__((noinline))
static long send_loop(int fd, const struct sockaddr_in *to, const char *buf,
		      size_t len, long n)
{
	for (long i = 0; i < n; i++)
		if (sendto(fd, buf, len, 0, (const struct sockaddr *)to,
			   sizeof(*to)) != (ssize_t)len)
			return i;
	return n;
}

int main(int argc, char **argv)
{
	static char buf[65507];
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct timespec pause = { 0, 200 * 1000 * 1000 };
	long n, sent;
	size_t len = 64;
	int fd;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: udpsend ADDR PORT N [SIZE]\n");
		return 2;
	}
	if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
		fprintf(stderr, "udpsend: bad address '%s'\n", argv[1]);
		return 2;
	}
	to.sin_port = htons((unsigned short)parse(argv[2], "PORT", 1, 65535));
	n = parse(argv[3], "N", 0, 1000000000L);
	if (argc == 5)
		len = (size_t)parse(argv[4], "SIZE", 0, (long)sizeof(buf));
	memset(buf, 'x', len);
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0) {
		perror("udpsend: socket");
		return 1;
	}
	if (send_loop(fd, &to, buf, len, 10) != 10) {
		perror("udpsend: sendto (warm-up)");
		return 1;
	}
	nanosleep(&pause, NULL);
	sent = send_loop(fd, &to, buf, len, n);
	if (sent != n) {
		fprintf(stderr, "udpsend: sendto %ld of %ld: %s\n", sent + 1, n, strerror(errno));
		return 1;
	}
	printf("udpsend: sent %ld\n", sent);
	return 0;
}
