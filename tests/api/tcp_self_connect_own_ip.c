/* A TCP connection from this host to itself through its own address
 * (API_SELF, not loopback): listen, connect, accept, data both ways. */
#include "api.h"

int main(void)
{
	api_init();
	int port;
	int ls = tcp_listener(&port);
	int c = tcp_socket();
	struct sockaddr_in a = self_sin(port);
	say("connect", connect(c, (struct sockaddr *)&a, sizeof a));
	struct sockaddr_in pa;
	socklen_t pl = sizeof pa;
	int s = accept(ls, (struct sockaddr *)&pa, &pl);
	say("accept", s < 0 ? s : 0);
	CHECK(s >= 0);
	sayf("accepted peer is self: %s", yesno(sin_ip_is(&pa, self_ip())));
	say("send c->s", send(c, "hello", 5, 0));
	char buf[8];
	sayf("server read %zu", read_full(s, buf, 5));
	say("send s->c", send(s, "world", 5, 0));
	sayf("client read %zu", read_full(c, buf, 5));
	close(s);
	say("client recv after server close", recv(c, buf, sizeof buf, 0));
	close(c);
	close(ls);
	return 0;
}
