/* close with SO_LINGER {1, N} waits, even on an O_NONBLOCK socket, until
 * the FIN is acknowledged or N seconds pass, and returns 0 either way:
 * at once after an echo exchange (the peer acknowledges the FIN), about
 * one second when the peer never reads and the FIN cannot go. */
#include "api.h"

int main(void)
{
	api_init();
	struct linger lg = { 1, 5 };
	char buf[4];
	int fd = tcp_connect(PORT_ECHO);
	write_all(fd, "abc", 3);
	CHECK(read_full(fd, buf, 3) == 3);
	set_nonblock(fd, 1);
	say("set SO_LINGER {1,5}", setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
	long long t0 = now_ms();
	say("close after echo", close(fd));
	sayf("returned at the FIN's ACK, long before 5 s: %s", yesno(now_ms() - t0 < 2000));

	fd = tcp_connect(PORT_SINK);
	set_nonblock(fd, 1);
	static char big[65536];
	long long end = now_ms() + 15000;
	while (send(fd, big, sizeof big, 0) > 0)
		if (now_ms() > end)
			die("the send buffer never filled");
	sayf("send buffer full: %s", errname(errno));
	lg.l_linger = 1;
	say("set SO_LINGER {1,1}", setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
	t0 = now_ms();
	say("close with data the peer never reads", close(fd));
	long long dt = now_ms() - t0;
	sayf("waited the linger time (1 s): %s", yesno(dt >= 900 && dt < 3000));
	return 0;
}
