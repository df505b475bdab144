/*
 * exit_fast - a client that writes, closes and exits at once
 * (tests/integration/exit_fast.sh): on the kernel the process is gone
 * as soon as it exits, and the kernel delivers what it left (the unsent
 * bytes, the FIN) afterwards; issue 13 asks the same of microtcp.
 *
 *   exit_fast ADDR PORT BYTES [SNDBUF]
 *
 * Connects to ADDR:PORT (with SO_SNDBUF = SNDBUF first, when given),
 * writes BYTES of the stream (stream.h) with blocking writes of 64 KiB,
 * then prints "lastwrite NS" (CLOCK_MONOTONIC when the last write
 * returned), closes, prints "closed NS" and returns from main (an
 * ordinary exit: atexit handlers and destructors run). The test takes
 * the time from "lastwrite" to the process being reaped.
 */
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stream.h"

#define CHUNK (64 * 1024)

static void die(const char *what)
{
	fprintf(stderr, "exit_fast: %s: %s\n", what, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	static uint8_t buf[CHUNK];
	int fd;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: exit_fast ADDR PORT BYTES [SNDBUF]\n");
		return 2;
	}
	struct sockaddr_in a = stream_addr("exit_fast", argv[1], argv[2]);
	uint64_t total = stream_size("exit_fast", argv[3]), off = 0;

	signal(SIGPIPE, SIG_IGN);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		die("socket");
	if (argc == 5) {
		int sb = (int)stream_size("exit_fast", argv[4]);

		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb)) < 0)
			die("SO_SNDBUF");
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	while (off < total) {
		size_t n = total - off < CHUNK ? (size_t)(total - off) : CHUNK, done = 0;

		stream_fill(buf, off, n);
		while (done < n) {
			ssize_t w = write(fd, buf + done, n - done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				die("write");
			done += (size_t)w;
		}
		off += n;
	}
	/* unbuffered: the line is out before close, whatever close does */
	dprintf(1, "lastwrite %lld\n", (long long)stream_now_ns());
	if (close(fd) < 0)
		die("close");
	dprintf(1, "closed %lld\n", (long long)stream_now_ns());
	return 0;
}
