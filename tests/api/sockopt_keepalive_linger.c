/* Boolean and struct socket options round-trip: SO_KEEPALIVE (0 -> 1),
 * SO_LINGER ({0,0} -> {1,5}), TCP_KEEPIDLE; SO_LINGER with a short optlen
 * is EINVAL. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_socket();
	int v = -1;
	socklen_t l = sizeof v;
	CHECK(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &l) == 0);
	sayf("SO_KEEPALIVE default: %d", v);
	v = 1;
	say("set SO_KEEPALIVE", setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v));
	l = sizeof v;
	CHECK(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &l) == 0);
	sayf("SO_KEEPALIVE: %d", v);
	struct linger lg = { -1, -1 };
	l = sizeof lg;
	CHECK(getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &l) == 0);
	sayf("SO_LINGER default: %d %d len=%u", lg.l_onoff, lg.l_linger, (unsigned)l);
	lg.l_onoff = 1;
	lg.l_linger = 5;
	say("set SO_LINGER", setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
	l = sizeof lg;
	CHECK(getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &l) == 0);
	sayf("SO_LINGER: %d %d", lg.l_onoff, lg.l_linger);
	say("set SO_LINGER optlen 4", setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, 4));
	v = 30;
	say("set TCP_KEEPIDLE 30", setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof v));
	l = sizeof v;
	CHECK(getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, &l) == 0);
	sayf("TCP_KEEPIDLE: %d", v);
	v = 0;
	say("set TCP_KEEPIDLE 0", setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof v));
	close(fd);
	return 0;
}
