/*
 * sig_nested - a signal handler that blocks in recv() while its thread is
 * itself blocked in recv() on another socket.
 *
 *   sig_nested [-r ROUNDS] ECHO_ADDR ECHO_PORT
 *
 * Two TCP connections, A and B, to an echo server. Each round the main
 * thread blocks in recv(A) with nothing on the way. A SIGALRM handler
 * (SA_RESTART) interrupts it: it sends a byte on A, then one on B, and
 * blocks in recv(B) until B's echo is back. A's echo arrives while the
 * handler waits (or just before): once the handler returns, the restarted
 * recv(A) must see it. A library that let the handler's wait share the
 * interrupted call's wake-up would leave recv(A) asleep with data queued;
 * a watchdog (SIGALRM is taken: a thread) reports that: "FAIL: round N:
 * recv(A) still blocked after 5 s", exit 3.
 *
 * Prints "sig_nested: ok, N rounds" and exits 0, or FAIL lines and 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int sa, sb;
static atomic_int round_no, round_done, handler_err;

static _Noreturn void die(const char *what)
{
	printf("FAIL: %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

static int dial(const char *addr, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1;
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0)
		die("socket");
	if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) {
		errno = EINVAL;
		die("address");
	}
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		die("TCP_NODELAY");
	return s;
}

/* async-signal-safe: send and recv only, errno kept. */
static void on_alarm(int sig)
{
	int saved = errno;
	char c = 'a', d = 'b';

	(void)sig;
	if (send(sa, &c, 1, 0) != 1 || send(sb, &d, 1, 0) != 1 ||
	    recv(sb, &d, 1, 0) != 1 || d != 'b')
		atomic_store(&handler_err, 1);
	errno = saved;
}

static void *watchdog(void *arg)
{
	(void)arg;
	for (;;) {
		int r = atomic_load(&round_no);
		for (int i = 0; i < 50; i++) {
			struct timespec t = { 0, 100 * 1000 * 1000 };
			nanosleep(&t, NULL);
			if (atomic_load(&round_done) >= r + 1 || atomic_load(&round_no) != r)
				break;
			if (i == 49) {
				printf("FAIL: round %d: recv(A) still blocked after 5 s "
				       "(the handler's wait took its wake-up?)\n", r);
				fflush(stdout);
				_exit(3);
			}
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int rounds = 20, opt;
	struct sigaction act;
	pthread_t wd;
	sigset_t all, old;

	while ((opt = getopt(argc, argv, "r:")) != -1) {
		if (opt != 'r') {
			fprintf(stderr, "usage: sig_nested [-r ROUNDS] ECHO_ADDR ECHO_PORT\n");
			return 2;
		}
		rounds = atoi(optarg);
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: sig_nested [-r ROUNDS] ECHO_ADDR ECHO_PORT\n");
		return 2;
	}
	sa = dial(argv[optind], atoi(argv[optind + 1]));
	sb = dial(argv[optind], atoi(argv[optind + 1]));

	memset(&act, 0, sizeof(act));
	act.sa_handler = on_alarm;
	act.sa_flags = SA_RESTART;
	sigemptyset(&act.sa_mask);
	if (sigaction(SIGALRM, &act, NULL) < 0)
		die("sigaction");
	/* The watchdog takes no signal: SIGALRM is for the main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&wd, NULL, watchdog, NULL))
		die("pthread_create");
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	for (int r = 0; r < rounds; r++) {
		struct itimerval it = { .it_value = { 0, 50 * 1000 } };
		char c = 0;
		ssize_t n;

		atomic_store(&round_no, r);
		if (setitimer(ITIMER_REAL, &it, NULL) < 0)
			die("setitimer");
		n = recv(sa, &c, 1, 0);
		if (n != 1 || c != 'a') {
			printf("FAIL: round %d: recv(A) gave %zd '%c' (%s), expected 1 'a'\n",
			       r, n, c ? c : '?', n < 0 ? strerror(errno) : "-");
			return 1;
		}
		if (atomic_load(&handler_err)) {
			printf("FAIL: round %d: the handler's send/recv on B failed\n", r);
			return 1;
		}
		atomic_store(&round_done, r + 1);
	}
	printf("sig_nested: ok, %d rounds\n", rounds);
	return 0;
}
