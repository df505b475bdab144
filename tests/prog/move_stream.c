/*
 * move_stream - one TCP connection written by two processes in turns
 * (tests/integration/move_stream.sh): on the kernel a socket belongs to no
 * process; on microtcp each turn's first write moves the connection to
 * the writer's stack while the previous writer's bytes are still queued
 * or in flight (issue 13: "moved back and forth 100 times under load").
 *
 *   move_stream ADDR PORT TURNS SLICE
 *
 * Connects to ADDR:PORT, then forks. Turn t (0 .. TURNS-1) belongs to the
 * parent when t is even, to the child when odd: its process waits for
 * the other's token on a pipe, writes the stream's bytes
 * [t * SLICE, (t + 1) * SLICE) (stream.h) as fast as blocking writes go,
 * and passes the token on; so exactly one process writes at a time. The
 * writer of the last turn shuts the connection down for writing
 * (SHUT_WR); each closes it when its turns are done. The parent waits for
 * the child and prints
 *   RESULT turns N bytes B child_exit S
 *   first_write parent|child p50 US p99 US max US
 * (first_write: from the token's arrival to the turn's first write
 * returning, in microseconds: on microtcp, roughly what a move costs).
 * Exit 0 only if both processes got through every turn.
 */
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stream.h"

#define CHUNK (64 * 1024)

static const char *who = "parent";

static void die(const char *what)
{
	fprintf(stderr, "move_stream (%s): %s: %s\n", who, what, strerror(errno));
	exit(1);
}

/* All of buf to fd, in as many writes as it takes; the time the first
 * write returned in *first (when non-NULL). */
static void write_all(int fd, const uint8_t *buf, size_t len, int64_t *first)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write to the connection");
		if (first && !*first)
			*first = stream_now_ns();
		buf += n;
		len -= (size_t)n;
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* "first_write WHO p50 US p99 US max US" over n samples (sorted here). */
static void print_lat(int64_t *ns, int n)
{
	if (n == 0)
		return;
	qsort(ns, (size_t)n, sizeof(*ns), cmp_i64);
	printf("first_write %s p50 %lld p99 %lld max %lld\n", who,
	       (long long)ns[n / 2] / 1000, (long long)ns[(n * 99) / 100] / 1000,
	       (long long)ns[n - 1] / 1000);
	fflush(stdout);
}

/* This process's turns: mine, mine + 2, ... Tokens come in on `in` and
 * go out on `out` (the turn number the other may now take). */
static void take_turns(int fd, int mine, int turns, uint64_t slice, int in, int out)
{
	static uint8_t buf[CHUNK];
	int64_t *lat = calloc((size_t)turns / 2 + 1, sizeof(*lat));
	int nlat = 0;

	if (!lat)
		die("calloc");
	for (int t = mine; t < turns; t += 2) {
		int tok;

		if (t > 0) {
			ssize_t n;

			while ((n = read(in, &tok, sizeof(tok))) < 0 && errno == EINTR)
				;
			if (n != sizeof(tok)) {
				fprintf(stderr, "move_stream (%s): waiting for turn %d: the other "
					"process ended\n", who, t);
				exit(1);
			}
			if (tok != t) {
				fprintf(stderr, "move_stream (%s): token %d, expected %d\n",
					who, tok, t);
				exit(1);
			}
		}
		int64_t t0 = stream_now_ns(), first = 0;
		uint64_t off = (uint64_t)t * slice, left = slice;

		while (left) {
			size_t n = left < CHUNK ? (size_t)left : CHUNK;

			stream_fill(buf, off, n);
			write_all(fd, buf, n, &first);
			off += n;
			left -= n;
		}
		lat[nlat++] = first - t0;
		if (t == turns - 1) {
			if (shutdown(fd, SHUT_WR) < 0)
				die("shutdown(SHUT_WR)");
		} else {
			tok = t + 1;
			if (write(out, &tok, sizeof(tok)) != sizeof(tok))
				die("passing the token");
		}
	}
	print_lat(lat, nlat);
	free(lat);
	if (close(fd) < 0)
		die("close");
}

int main(int argc, char **argv)
{
	int to_child[2], to_parent[2], fd, st;

	if (argc != 5) {
		fprintf(stderr, "usage: move_stream ADDR PORT TURNS SLICE\n");
		return 2;
	}
	struct sockaddr_in a = stream_addr("move_stream", argv[1], argv[2]);
	int turns = atoi(argv[3]);
	uint64_t slice = stream_size("move_stream", argv[4]);

	if (turns < 1 || slice == 0) {
		fprintf(stderr, "move_stream: TURNS and SLICE must be positive\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);       /* EPIPE, said as such */
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	if (pipe(to_child) < 0 || pipe(to_parent) < 0)
		die("pipe");
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		who = "child";
		close(to_child[1]);
		close(to_parent[0]);
		take_turns(fd, 1, turns, slice, to_child[0], to_parent[1]);
		return 0;
	}
	close(to_child[0]);
	close(to_parent[1]);
	take_turns(fd, 0, turns, slice, to_parent[0], to_child[1]);
	/* the child may still be writing: our end of its pipe stays open
	 * until it is done, or it would see the parent gone */
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	int cx = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	printf("RESULT turns %d bytes %llu child_exit %d\n", turns,
	       (unsigned long long)((uint64_t)turns * slice), cx);
	return cx == 0 ? 0 : 1;
}
