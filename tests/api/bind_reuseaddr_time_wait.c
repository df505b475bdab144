/* Server restart: our listener (with SO_REUSEADDR, as servers set it)
 * accepted a connection and we closed it first (our side in TIME_WAIT),
 * then the listener is closed. A new listener on the same port: bind fails
 * with EADDRINUSE without SO_REUSEADDR and succeeds with it. */
#include "api.h"

int main(void)
{
	api_init();
	int ls = tcp_socket(), one = 1;
	CHECK(setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
	struct sockaddr_in la = self_sin(0);
	socklen_t ll = sizeof la;
	CHECK(bind(ls, (struct sockaddr *)&la, sizeof la) == 0);
	CHECK(listen(ls, 4) == 0);
	CHECK(getsockname(ls, (struct sockaddr *)&la, &ll) == 0);
	int port = sin_port(&la);
	int ctl = connect_back(port, 1);
	int c = accept(ls, NULL, NULL);
	CHECK(c >= 0);
	char buf[32];
	CHECK(read_full(c, buf, strlen(GREETING)) == strlen(GREETING));
	/* active close: our FIN first, then the peer's echo handler closes */
	CHECK(shutdown(c, SHUT_WR) == 0);
	CHECK(wait_for(c, POLLRDHUP, 3000) & POLLRDHUP);
	close(c);
	close(ls);
	sleep_ms(100);
	struct sockaddr_in a = self_sin(port);
	int n1 = tcp_socket();
	say("bind without SO_REUSEADDR", bind(n1, (struct sockaddr *)&a, sizeof a));
	int n2 = tcp_socket();
	CHECK(setsockopt(n2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
	say("bind with SO_REUSEADDR", bind(n2, (struct sockaddr *)&a, sizeof a));
	say("listen", listen(n2, 4));
	close(ctl);
	return 0;
}
