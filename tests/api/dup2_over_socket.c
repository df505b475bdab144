/* dup2(a, b) where b is an open (listening) socket: b is closed first (its
 * port can be bound again) and b now names a's connection. dup2(a, a)
 * returns a. */
#include "api.h"

int main(void)
{
	api_init();
	int a = tcp_connect(PORT_ECHO);
	int port;
	int b = tcp_listener(&port);
	say("dup2 to itself returns fd", dup2(a, a) == a ? 0 : -1);
	int r = dup2(a, b);
	say("dup2(a, b) returns b", r == b ? 0 : -1);
	int c = tcp_socket();
	struct sockaddr_in sa = self_sin(port);
	say("bind the old listener's port", bind(c, (struct sockaddr *)&sa, sizeof sa));
	say("send on b", send(b, "via-b", 5, 0));
	char buf[8];
	sayf("read on a: %zu", read_full(a, buf, 5));
	int acc = -1;
	socklen_t l = sizeof acc;
	CHECK(getsockopt(b, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) == 0);
	sayf("b listening: %d", acc);
	close(a);
	close(b);
	close(c);
	return 0;
}
