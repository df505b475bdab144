/* writev of three buffers, readv into two: the bytes arrive in order,
 * split across the iovecs as sizes dictate. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	char a[] = "first-", b[] = "second-", c[] = "third\n";
	struct iovec wv[3] = { { a, 6 }, { b, 7 }, { c, 6 } };
	say("writev", writev(fd, wv, 3));
	CHECK(wait_for(fd, POLLIN, 3000) & POLLIN);
	char x[10], y[32];
	memset(x, 0, sizeof x);
	memset(y, 0, sizeof y);
	struct iovec rv[2] = { { x, sizeof x }, { y, sizeof y } };
	size_t got = 0;
	/* the echo of 19 bytes sent at once comes back in one piece */
	ssize_t r = readv(fd, rv, 2);
	if (r > 0)
		got = (size_t)r;
	while (got < 19) {
		char *dst = got < 10 ? x + got : y + (got - 10);
		size_t room = got < 10 ? 10 - got : sizeof y - (got - 10);
		ssize_t k = read(fd, dst, room);
		if (k <= 0)
			die("read");
		got += (size_t)k;
	}
	sayf("total %zu: x='%.10s' y='%.9s'", got, x, y);
	say("writev zero iovecs", writev(fd, wv, 0));
	volatile int bad = -1;
	say("writev iovcnt -1", writev(fd, wv, bad));
	close(fd);
	return 0;
}
