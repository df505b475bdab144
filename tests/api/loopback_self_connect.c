/* TCP over 127.0.0.1: listen, connect to ourselves, accept, exchange data
 * both ways; addresses are 127.0.0.1 on both ends. */
#include "api.h"

int main(void)
{
	api_init();
	int ls = tcp_socket();
	struct sockaddr_in a = sin_of("127.0.0.1", 0);
	socklen_t l = sizeof a;
	say("bind 127.0.0.1:0", bind(ls, (struct sockaddr *)&a, sizeof a));
	say("listen", listen(ls, 4));
	CHECK(getsockname(ls, (struct sockaddr *)&a, &l) == 0);
	int c = tcp_socket();
	say("connect", connect(c, (struct sockaddr *)&a, sizeof a));
	struct sockaddr_in pa;
	socklen_t pl = sizeof pa;
	int s = accept(ls, (struct sockaddr *)&pa, &pl);
	say("accept", s < 0 ? s : 0);
	CHECK(s >= 0);
	sayf("accepted peer is loopback: %s", yesno(sin_ip_is(&pa, "127.0.0.1")));
	say("send c->s", send(c, "to-server", 9, 0));
	char buf[16];
	sayf("server read %zu", read_full(s, buf, 9));
	say("send s->c", send(s, "to-client", 9, 0));
	sayf("client read %zu", read_full(c, buf, 9));
	struct sockaddr_in me;
	socklen_t ml = sizeof me;
	CHECK(getpeername(c, (struct sockaddr *)&me, &ml) == 0);
	sayf("client's peer is loopback: %s, port matches: %s", yesno(sin_ip_is(&me, "127.0.0.1")),
	     yesno(me.sin_port == a.sin_port));
	close(c);
	say("server recv after client close", recv(s, buf, sizeof buf, 0));
	close(s);
	close(ls);
	return 0;
}
