/* SO_REUSEADDR: two TCP sockets with it may bind the same port while
 * neither listens; once one listens, listen on the other is EADDRINUSE.
 * Without it on the second socket, its bind is EADDRINUSE. */
#include "api.h"

int main(void)
{
	api_init();
	int one = 1, v = -1;
	socklen_t vl = sizeof v;
	int a = tcp_socket(), b = tcp_socket(), c = tcp_socket();
	CHECK(getsockopt(a, SOL_SOCKET, SO_REUSEADDR, &v, &vl) == 0);
	sayf("default SO_REUSEADDR: %d", v);
	say("setsockopt a", setsockopt(a, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
	say("setsockopt b", setsockopt(b, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
	vl = sizeof v;
	CHECK(getsockopt(a, SOL_SOCKET, SO_REUSEADDR, &v, &vl) == 0);
	sayf("SO_REUSEADDR now: %d", v);
	struct sockaddr_in sa = self_sin(0);
	socklen_t l = sizeof sa;
	say("bind a", bind(a, (struct sockaddr *)&sa, sizeof sa));
	CHECK(getsockname(a, (struct sockaddr *)&sa, &l) == 0);
	say("bind b same port", bind(b, (struct sockaddr *)&sa, sizeof sa));
	say("bind c (no reuse) same port", bind(c, (struct sockaddr *)&sa, sizeof sa));
	say("listen a", listen(a, 4));
	say("listen b", listen(b, 4));
	return 0;
}
