/* A non-blocking socket to a peer that never reads: writes succeed (a
 * positive amount in total) until EAGAIN; poll then reports the socket not
 * writable. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_SINK);
	set_nonblock(fd, 1);
	static char buf[65536];
	long total = 0;
	ssize_t r;
	int last_err = 0;
	long long end = now_ms() + 10000;
	for (;;) {
		r = send(fd, buf, sizeof buf, 0);
		if (r < 0) {
			last_err = errno;
			/* the window may open once more while the peer's
			 * buffer fills; stop when it stays shut */
			if (errno == EAGAIN && wait_for(fd, POLLOUT, 300))
				continue;
			break;
		}
		total += r;
		if (now_ms() > end)
			die("still writable after 10 s");
	}
	sayf("wrote a positive amount: %s", yesno(total > 0));
	sayf("stopped with: %s", errname(last_err));
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	say("poll POLLOUT", poll(&p, 1, 0));
	sayf("revents: %s", pollbits(p.revents));
	close(fd);
	return 0;
}
