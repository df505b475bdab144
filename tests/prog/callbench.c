/*
 * callbench - the cost of a libc call that libmtcp.so passes through to
 * the kernel: N write(fd, buf, 1) calls to /dev/null and N poll() calls
 * with timeout 0 on the read end of an empty pipe. Opens no socket, so
 * under LD_PRELOAD the stack never starts and what is measured is the
 * interposition alone (symbol lookup, fd table check, pass-through).
 *
 *   callbench [N] [ROUNDS]      default N = 1000000, ROUNDS = 5
 *
 * Prints one line per call kind, the best round (least disturbed):
 *   write ns_per_call 61.3
 *   poll ns_per_call 80.2
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long parse(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > 1000000000L) {
		fprintf(stderr, "callbench: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? parse(argv[1], "N") : 1000000;
	long rounds = argc > 2 ? parse(argv[2], "ROUNDS") : 5;
	double best_w = 1e300, best_p = 1e300;
	int fd, pfd[2];
	char c = 'x';

	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || pipe(pfd) < 0) {
		perror("callbench: open /dev/null or pipe");
		return 1;
	}
	for (long r = 0; r < rounds; r++) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		double t0 = now_ns();

		for (long i = 0; i < n; i++) {
			if (write(fd, &c, 1) != 1) {
				perror("callbench: write");
				return 1;
			}
		}
		double t1 = now_ns();
		for (long i = 0; i < n; i++) {
			if (poll(&p, 1, 0) != 0) {
				perror("callbench: poll");
				return 1;
			}
		}
		double t2 = now_ns();
		if ((t1 - t0) / n < best_w)
			best_w = (t1 - t0) / n;
		if ((t2 - t1) / n < best_p)
			best_p = (t2 - t1) / n;
	}
	printf("write ns_per_call %.1f\n", best_w);
	printf("poll ns_per_call %.1f\n", best_p);
	return 0;
}
