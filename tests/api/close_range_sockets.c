/* close_range over three sockets (fds 50-52): all closed (fcntl EBADF), a
 * socket outside the range still works; CLOSE_RANGE_CLOEXEC only marks. */
#include "api.h"
#include <linux/close_range.h>

int main(void)
{
	api_init();
	for (int i = 50; i <= 52; i++) {
		int s = i == 51 ? udp_socket() : tcp_connect(PORT_DISCARD);
		CHECK(dup2(s, i) == i);
		close(s);
	}
	int keep = tcp_connect(PORT_ECHO);
	CHECK(dup2(keep, 53) == 53);
	close(keep);
	int m = tcp_connect(PORT_DISCARD);
	CHECK(dup2(m, 54) == 54);
	close(m);
	say("close_range(54, 54, CLOEXEC)", close_range(54, 54, CLOSE_RANGE_CLOEXEC));
	sayf("fd 54 open and cloexec: %s", yesno(fcntl(54, F_GETFD) == FD_CLOEXEC));
	say("close_range(50, 52, 0)", close_range(50, 52, 0));
	for (int i = 50; i <= 52; i++) {
		char l[32];
		snprintf(l, sizeof l, "fcntl(%d)", i);
		say(l, fcntl(i, F_GETFD));
	}
	say("send on 53", send(53, "ok", 2, 0));
	char buf[4];
	sayf("echo on 53: %zu", read_full(53, buf, 2));
	say("close_range bad order", close_range(10, 5, 0));
	return 0;
}
