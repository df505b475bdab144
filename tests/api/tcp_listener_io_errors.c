/* I/O on a listening socket: recv ENOTCONN, send EPIPE (SIGPIPE),
 * getpeername ENOTCONN, connect EISCONN, listen again 0,
 * bind again EINVAL; listen on a connected socket EINVAL. */
#include "api.h"

int main(void)
{
	api_init();
	on_signal(SIGPIPE, count_sig, 0);
	int port;
	int ls = tcp_listener(&port);
	char c;
	say("recv", recv(ls, &c, 1, MSG_DONTWAIT));
	say("send", send(ls, "x", 1, 0));
	sayf("SIGPIPE count: %d", (int)sig_count);
	struct sockaddr_in a = peer_sin(PORT_ECHO);
	socklen_t al = sizeof a;
	say("getpeername", getpeername(ls, (struct sockaddr *)&a, &al));
	a = peer_sin(PORT_ECHO);
	say("connect", connect(ls, (struct sockaddr *)&a, sizeof a));
	say("listen again", listen(ls, 8));
	struct sockaddr_in b = self_sin(0);
	say("bind again", bind(ls, (struct sockaddr *)&b, sizeof b));
	int s = tcp_connect(PORT_DISCARD);
	say("listen on connected", listen(s, 4));
	say("bind after connect", bind(s, (struct sockaddr *)&b, sizeof b));
	close(s);
	close(ls);
	return 0;
}
