/* select over a pipe and a TCP socket, read and write sets: which bits
 * are set as the pipe and then the socket become readable; timeout 0 with
 * nothing readable returns 0. */
#include "api.h"
#include <sys/select.h>

static void run(const char *what, int pr, int pw, int s, int ms)
{
	fd_set r, w;
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(pr, &r);
	FD_SET(s, &r);
	FD_SET(pw, &w);
	FD_SET(s, &w);
	int maxfd = (pr > s ? pr : s) > pw ? (pr > s ? pr : s) : pw;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	int n = select(maxfd + 1, &r, &w, NULL, &tv);
	sayf("%s: ret=%d pipe_r=%d sock_r=%d pipe_w=%d sock_w=%d", what, n, FD_ISSET(pr, &r),
	     FD_ISSET(s, &r), FD_ISSET(pw, &w), FD_ISSET(s, &w));
}

int main(void)
{
	api_init();
	int pp[2];
	CHECK(pipe(pp) == 0);
	int fd = tcp_connect(PORT_ECHO);
	run("idle", pp[0], pp[1], fd, 0);
	write_all(pp[1], "p", 1);
	run("pipe has data", pp[0], pp[1], fd, 0);
	write_all(fd, "s", 1);
	CHECK(wait_for(fd, POLLIN, 3000) & POLLIN);
	run("both have data", pp[0], pp[1], fd, 1000);
	fd_set r;
	FD_ZERO(&r);
	FD_SET(fd, &r);
	char c;
	CHECK(read(fd, &c, 1) == 1);
	struct timeval tv = { 0, 100000 };
	say("select read-only socket, 100 ms", select(fd + 1, &r, NULL, NULL, &tv));
	sayf("socket bit: %d", FD_ISSET(fd, &r));
	close(fd);
	return 0;
}
