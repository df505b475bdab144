/* SO_REUSEPORT: two TCP sockets with it bind and listen on the same port;
 * a connection from the peer is accepted by one of them. */
#include "api.h"

int main(void)
{
	api_init();
	int one = 1;
	int a = tcp_socket(), b = tcp_socket();
	say("set SO_REUSEPORT a", setsockopt(a, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one));
	say("set SO_REUSEPORT b", setsockopt(b, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one));
	struct sockaddr_in sa = self_sin(0);
	socklen_t l = sizeof sa;
	say("bind a", bind(a, (struct sockaddr *)&sa, sizeof sa));
	CHECK(getsockname(a, (struct sockaddr *)&sa, &l) == 0);
	say("bind b same port", bind(b, (struct sockaddr *)&sa, sizeof sa));
	say("listen a", listen(a, 4));
	say("listen b", listen(b, 4));
	int ctl = connect_back(sin_port(&sa), 1);
	struct pollfd p[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };
	int n = poll(p, 2, 3000);
	sayf("exactly one listener has it: %s", yesno(n == 1));
	int ls = (p[0].revents & POLLIN) ? a : b;
	int c = accept(ls, NULL, NULL);
	say("accept", c < 0 ? c : 0);
	close(c);
	close(ctl);
	return 0;
}
