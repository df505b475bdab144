/* UDP port sharing: a second bind to the same port is EADDRINUSE unless
 * both sockets set SO_REUSEADDR. */
#include "api.h"

int main(void)
{
	api_init();
	int a = udp_socket(), b = udp_socket(), c = udp_socket(), d = udp_socket();
	struct sockaddr_in sa = self_sin(0);
	socklen_t l = sizeof sa;
	say("bind a", bind(a, (struct sockaddr *)&sa, sizeof sa));
	CHECK(getsockname(a, (struct sockaddr *)&sa, &l) == 0);
	say("bind b same port", bind(b, (struct sockaddr *)&sa, sizeof sa));
	int one = 1;
	CHECK(setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
	CHECK(setsockopt(d, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
	struct sockaddr_in sc = self_sin(0);
	l = sizeof sc;
	say("bind c (reuse)", bind(c, (struct sockaddr *)&sc, sizeof sc));
	CHECK(getsockname(c, (struct sockaddr *)&sc, &l) == 0);
	say("bind d (reuse) same port", bind(d, (struct sockaddr *)&sc, sizeof sc));
	return 0;
}
