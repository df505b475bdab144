/*
 * sig_send - signal handlers that send on a socket while the interrupted
 * threads are busy sending and receiving on sockets of their own (under
 * libmtcp.so: inside the library, often holding its locks).
 *
 *   sig_send ADDR ECHO_PORT COUNT_PORT [-t THREADS] [-r ROUNDS] [-s SIGNALS]
 *            [-w WORK_MS] [-d DEADLINE_MS]
 *
 * THREADS workers (4) each open a TCP connection to ADDR:ECHO_PORT and do
 * up to ROUNDS (20000) round trips of 4096 patterned bytes (for at most
 * WORK_MS, 3000), checking every byte echoed. A signalling thread sends
 * up to SIGNALS (40000) signals to the workers in turn, SIGUSR1 (installed
 * with sigaction, SA_RESTART) and SIGUSR2 (installed with signal()),
 * every 50 us until the workers end. Each handler run sends 8 bytes 'S'
 * on one shared connection to ADDR:COUNT_PORT, whose peer counts the
 * bytes until EOF and answers "N" (or "N BAD" if any byte was not 'S').
 * At the end the program checks that the peer counted exactly what the
 * handlers sent and that no handler's send failed.
 *
 * A watchdog ends the process with status 3 and "FAIL: ... no progress"
 * after DEADLINE_MS (30000): a thread deadlocked in the library (the
 * handler waiting for a lock its own thread holds) shows as that.
 * Prints "sig_send: ... ok" and exits 0 on success, "FAIL: ..." and 1
 * otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 4096
#define MAX_THREADS 16

static struct sockaddr_in echo_addr, count_addr;
static int nthreads = 4, rounds = 20000, max_signals = 40000;
static long work_ms = 3000, deadline_ms = 30000;

static int sigfd = -1;
static unsigned long handler_runs, handler_bytes, handler_fail;
static unsigned long rounds_done, signals_sent;
static int workers_done, signaller_done;
static int failed;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void failf(const char *fmt, const char *a, long b)
{
	printf("FAIL: ");
	printf(fmt, a, b);
	printf("\n");
	fflush(stdout);
	__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
}

/* The handler under test: a send on a socket, from whatever the thread was
 * doing. A short count or an error is a failure (SA_RESTART: a signal
 * arriving inside it does not cut it short on the kernel). */
static void on_signal(int sig)
{
	static const char rec[8] = "SSSSSSSS";
	int saved = errno;
	ssize_t n;

	(void)sig;
	n = send(sigfd, rec, sizeof(rec), MSG_NOSIGNAL);
	__atomic_add_fetch(&handler_runs, 1, __ATOMIC_RELAXED);
	if (n > 0)
		__atomic_add_fetch(&handler_bytes, (unsigned long)n, __ATOMIC_RELAXED);
	if (n != (ssize_t)sizeof(rec))
		__atomic_add_fetch(&handler_fail, 1, __ATOMIC_RELAXED);
	errno = saved;
}

static void on_signal_info(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	on_signal(sig);
}

static int connect_to(const struct sockaddr_in *a)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while (connect(fd, (const struct sockaddr *)a, sizeof(*a)) < 0) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
		/* Interrupted: the connection goes on; wait for its end. */
		a = NULL;
		break;
	}
	if (!a) {
		socklen_t l = sizeof(int);
		int err = 0;
		fd_set w;

		do {
			FD_ZERO(&w);
			FD_SET(fd, &w);
		} while (select(fd + 1, NULL, &w, NULL, NULL) < 0 && errno == EINTR);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) {
			close(fd);
			errno = err;
			return -1;
		}
	}
	return fd;
}

static void fill(unsigned char *b, unsigned seed)
{
	for (int i = 0; i < CHUNK; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (unsigned char)(seed >> 16);
	}
}

/* Send or receive all of len, through signals (EINTR, short counts). */
static int xfer(int fd, unsigned char *b, size_t len, int rx)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = rx ? recv(fd, b + done, len - done, 0)
			       : send(fd, b + done, len - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

static void *worker(void *arg)
{
	long id = (long)arg;
	unsigned char out[CHUNK], in[CHUNK];
	double end = now_ms() + work_ms;
	int fd = connect_to(&echo_addr);

	if (fd < 0) {
		failf("worker %s%ld: connect to the echo peer failed", "", id);
		goto out;
	}
	for (int r = 0; r < rounds && now_ms() < end; r++) {
		fill(out, (unsigned)(id * 100003 + r));
		if (xfer(fd, out, CHUNK, 0) < 0 || xfer(fd, in, CHUNK, 1) < 0) {
			failf("worker %s%ld: send/recv failed", strerror(errno), id);
			break;
		}
		if (memcmp(out, in, CHUNK)) {
			failf("worker %s%ld: the echo differs from what was sent", "", id);
			break;
		}
		__atomic_add_fetch(&rounds_done, 1, __ATOMIC_RELAXED);
	}
	close(fd);
out:
	__atomic_add_fetch(&workers_done, 1, __ATOMIC_RELEASE);
	/* Alive until the signaller stops: pthread_kill of a thread that
	 * has been joined is undefined (main joins the signaller first). */
	while (!__atomic_load_n(&signaller_done, __ATOMIC_ACQUIRE)) {
		struct timespec t = { 0, 1000 * 1000 };
		nanosleep(&t, NULL);
	}
	return NULL;
}

static pthread_t workers[MAX_THREADS];

static void *signaller(void *arg)
{
	struct timespec gap = { 0, 50 * 1000 };

	(void)arg;
	for (int i = 0; i < max_signals; i++) {
		if (__atomic_load_n(&workers_done, __ATOMIC_ACQUIRE) == nthreads)
			break;
		pthread_kill(workers[i % nthreads], (i / nthreads) % 2 ? SIGUSR2 : SIGUSR1);
		__atomic_add_fetch(&signals_sent, 1, __ATOMIC_RELAXED);
		nanosleep(&gap, NULL);
	}
	__atomic_store_n(&signaller_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Ends a run that stopped making progress (a deadlock): no cleanup (a
 * thread may hold the library's locks), _exit. */
static void *watchdog(void *arg)
{
	(void)arg;
	double end = now_ms() + deadline_ms;

	while (now_ms() < end) {
		struct timespec t = { 0, 50 * 1000 * 1000 };
		nanosleep(&t, NULL);
	}
	printf("FAIL: no progress after %ld ms (deadlock?): %lu rounds, %lu signals, "
	       "%lu handler runs, %d/%d workers done\n", deadline_ms,
	       __atomic_load_n(&rounds_done, __ATOMIC_RELAXED),
	       __atomic_load_n(&signals_sent, __ATOMIC_RELAXED),
	       __atomic_load_n(&handler_runs, __ATOMIC_RELAXED),
	       __atomic_load_n(&workers_done, __ATOMIC_RELAXED), nthreads);
	fflush(stdout);
	_exit(3);
}

static void usage(void)
{
	fprintf(stderr, "usage: sig_send ADDR ECHO_PORT COUNT_PORT [-t THREADS] [-r ROUNDS] "
		"[-s SIGNALS] [-w WORK_MS] [-d DEADLINE_MS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	pthread_t sig_thr, dog;
	char reply[64];
	size_t got = 0;
	int opt;

	while ((opt = getopt(argc, argv, "t:r:s:w:d:")) != -1) {
		switch (opt) {
		case 't': nthreads = atoi(optarg); break;
		case 'r': rounds = atoi(optarg); break;
		case 's': max_signals = atoi(optarg); break;
		case 'w': work_ms = atol(optarg); break;
		case 'd': deadline_ms = atol(optarg); break;
		default: usage();
		}
	}
	if (argc - optind != 3 || nthreads < 1 || nthreads > MAX_THREADS || rounds < 1 ||
	    max_signals < 0 || work_ms < 1 || deadline_ms < 1)
		usage();
	echo_addr.sin_family = count_addr.sin_family = AF_INET;
	if (inet_pton(AF_INET, argv[optind], &echo_addr.sin_addr) != 1)
		usage();
	count_addr.sin_addr = echo_addr.sin_addr;
	echo_addr.sin_port = htons((unsigned short)atoi(argv[optind + 1]));
	count_addr.sin_port = htons((unsigned short)atoi(argv[optind + 2]));
	setvbuf(stdout, NULL, _IOLBF, 0);

	pthread_create(&dog, NULL, watchdog, NULL);
	sigfd = connect_to(&count_addr);
	if (sigfd < 0) {
		printf("FAIL: connect to the counting peer: %s\n", strerror(errno));
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal_info;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0 || signal(SIGUSR2, on_signal) == SIG_ERR) {
		printf("FAIL: installing the handlers: %s\n", strerror(errno));
		return 1;
	}
	/* What sigaction reports back is the program's own handler. */
	struct sigaction back;
	if (sigaction(SIGUSR1, NULL, &back) < 0 || back.sa_sigaction != on_signal_info ||
	    !(back.sa_flags & SA_SIGINFO)) {
		printf("FAIL: sigaction(SIGUSR1) does not report the handler installed\n");
		return 1;
	}
	if (sigaction(SIGUSR2, NULL, &back) < 0 || back.sa_handler != on_signal ||
	    (back.sa_flags & SA_SIGINFO)) {
		printf("FAIL: sigaction(SIGUSR2) does not report signal()'s handler\n");
		return 1;
	}

	double t0 = now_ms();
	for (long i = 0; i < nthreads; i++)
		pthread_create(&workers[i], NULL, worker, (void *)i);
	pthread_create(&sig_thr, NULL, signaller, NULL);
	pthread_join(sig_thr, NULL);
	for (int i = 0; i < nthreads; i++)
		pthread_join(workers[i], NULL);
	double t1 = now_ms();

	/* Every signal sent has been handled by now or is lost for good
	 * (merged with a pending one): block them, then count. */
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	unsigned long runs = __atomic_load_n(&handler_runs, __ATOMIC_RELAXED);
	unsigned long bytes = __atomic_load_n(&handler_bytes, __ATOMIC_RELAXED);
	unsigned long hfail = __atomic_load_n(&handler_fail, __ATOMIC_RELAXED);

	shutdown(sigfd, SHUT_WR);
	while (got < sizeof(reply) - 1) {
		ssize_t n = recv(sigfd, reply + got, sizeof(reply) - 1 - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	reply[got] = 0;
	close(sigfd);

	printf("sig_send: %d threads, %lu rounds of %d bytes echoed in %.0f ms, "
	       "%lu signals sent, %lu handler runs, %lu bytes sent by handlers, "
	       "peer counted \"%s\"\n", nthreads, rounds_done, CHUNK, t1 - t0,
	       signals_sent, runs, bytes, reply);
	if (hfail)
		failf("%s%ld handler send(s) failed or were short", "", (long)hfail);
	if (runs == 0)
		failf("%sno handler ran (%ld signals sent)", "", (long)signals_sent);
	if (rounds_done == 0)
		failf("%sno round trip completed (%ld)", "", 0);
	char want[32];
	snprintf(want, sizeof(want), "%lu", bytes);
	if (strcmp(reply, want))
		failf("the counting peer got \"%s\", the handlers sent %ld bytes", reply,
		      (long)bytes);
	if (failed)
		return 1;
	printf("sig_send: ok\n");
	return 0;
}
