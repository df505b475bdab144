/* Two TCP sockets bound to the same address and port (no SO_REUSEADDR):
 * the second bind fails with EADDRINUSE; after closing the first, the port
 * is free again. */
#include "api.h"

int main(void)
{
	api_init();
	int a = tcp_socket(), b = tcp_socket(), c = tcp_socket();
	struct sockaddr_in sa = self_sin(0);
	socklen_t l = sizeof sa;
	say("bind a", bind(a, (struct sockaddr *)&sa, sizeof sa));
	CHECK(getsockname(a, (struct sockaddr *)&sa, &l) == 0);
	say("bind b same port", bind(b, (struct sockaddr *)&sa, sizeof sa));
	say("listen a", listen(a, 4));
	close(a);
	say("bind c after close a", bind(c, (struct sockaddr *)&sa, sizeof sa));
	return 0;
}
