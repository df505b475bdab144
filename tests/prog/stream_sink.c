/*
 * stream_sink - the kernel's end of the stream tests (move_stream.sh,
 * exit_fast.sh): accepts one TCP connection, reads it to its end and
 * checks every byte against the stream of stream.h, at its offset.
 *
 *   stream_sink ADDR PORT [-d MS] [-r BYTES] [-s BYTES -w MS] [-n BYTES] [-t SECS]
 *
 *   -d MS      start reading MS milliseconds after the accept (the sender
 *              fills both buffers meanwhile and blocks)
 *   -r BYTES   SO_RCVBUF of the listener (so of the connection): bounds
 *              what the kernel takes, and acknowledges, without a read
 *   -s BYTES -w MS   after BYTES have been read, read nothing for MS
 *   -n BYTES   the connection must carry exactly BYTES
 *   -t SECS    a read that waits longer ends the run (default 30)
 *
 * Prints "stream_sink: listening ADDR:PORT pid PID" once it listens, and
 * at the end
 *   RESULT bytes N first_bad none|OFFSET end eof|reset|timeout|error hash H
 *   t_end NS
 * (t_end: CLOCK_MONOTONIC when the end was read). Exit 0 only if every
 * byte is the stream's, the end is a clean EOF (FIN, not a reset) and,
 * with -n, the count is right; 1 otherwise, 2 on a usage or setup error.
 * Plain C, no stack code: the tests run it on the kernel.
 */
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "stream.h"

#define BUFSZ (256 * 1024)

static void usage(void)
{
	fprintf(stderr, "usage: stream_sink ADDR PORT [-d MS] [-r BYTES] "
		"[-s BYTES -w MS] [-n BYTES] [-t SECS]\n");
	exit(2);
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	long delay_ms = 0, stall_ms = 0, tmo = 30;
	uint64_t stall_at = 0, expect = 0, got = 0, bad = 0, h = STREAM_HASH0;
	int rcvbuf = 0, one = 1, ls, fd, opt;
	bool have_expect = false, have_bad = false, stalled = false;
	const char *end = "error";
	static uint8_t buf[BUFSZ], want[BUFSZ];

	if (argc < 3)
		usage();
	struct sockaddr_in a = stream_addr("stream_sink", argv[1], argv[2]);
	optind = 3;
	while ((opt = getopt(argc, argv, "d:r:s:w:n:t:")) != -1) {
		switch (opt) {
		case 'd': delay_ms = atol(optarg); break;
		case 'r': rcvbuf = (int)stream_size("stream_sink", optarg); break;
		case 's': stall_at = stream_size("stream_sink", optarg); break;
		case 'w': stall_ms = atol(optarg); break;
		case 'n': expect = stream_size("stream_sink", optarg); have_expect = true; break;
		case 't': tmo = atol(optarg); break;
		default: usage();
		}
	}

	if ((ls = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (rcvbuf && setsockopt(ls, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0) ||
	    bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 1) < 0) {
		perror("stream_sink: listen");
		return 2;
	}
	printf("stream_sink: listening %s:%s pid %d\n", argv[1], argv[2], (int)getpid());
	fflush(stdout);
	if ((fd = accept(ls, NULL, NULL)) < 0) {
		perror("stream_sink: accept");
		return 2;
	}
	close(ls);
	struct timeval tv = { tmo, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (delay_ms)
		sleep_ms(delay_ms);

	for (;;) {
		size_t want_n = BUFSZ;

		if (stall_ms && !stalled && got >= stall_at) {
			sleep_ms(stall_ms);
			stalled = true;
		}
		if (stall_ms && !stalled && stall_at - got < want_n)
			want_n = (size_t)(stall_at - got);
		ssize_t n = read(fd, buf, want_n);
		if (n == 0) {
			end = "eof";
			break;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			end = errno == ECONNRESET ? "reset" :
			      errno == EAGAIN || errno == EWOULDBLOCK ? "timeout" : "error";
			if (strcmp(end, "error") == 0)
				fprintf(stderr, "stream_sink: read: %s\n", strerror(errno));
			break;
		}
		if (!have_bad) {
			stream_fill(want, got, (size_t)n);
			if (memcmp(buf, want, (size_t)n) != 0) {
				size_t i = 0;

				while (buf[i] == want[i])
					i++;
				bad = got + i;
				have_bad = true;
			}
		}
		h = stream_hash(h, buf, (size_t)n);
		got += (uint64_t)n;
	}
	int64_t t_end = stream_now_ns();
	close(fd);

	if (have_bad)
		printf("RESULT bytes %llu first_bad %llu end %s hash %016llx\n",
		       (unsigned long long)got, (unsigned long long)bad, end,
		       (unsigned long long)h);
	else
		printf("RESULT bytes %llu first_bad none end %s hash %016llx\n",
		       (unsigned long long)got, end, (unsigned long long)h);
	printf("t_end %lld\n", (long long)t_end);
	return !have_bad && strcmp(end, "eof") == 0 && (!have_expect || got == expect) ? 0 : 1;
}
