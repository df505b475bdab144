/* Socket calls on a pipe fd: ENOTSOCK (send, recv, getsockopt, connect,
 * shutdown, getsockname, accept, listen); read/write on it still work. */
#include "api.h"

int main(void)
{
	api_init();
	int pp[2];
	CHECK(pipe(pp) == 0);
	int v;
	socklen_t vl = sizeof v;
	struct sockaddr_in a = peer_sin(PORT_ECHO);
	socklen_t al = sizeof a;
	say("send", send(pp[1], "x", 1, 0));
	say("recv", recv(pp[0], &v, 1, MSG_DONTWAIT));
	say("getsockopt", getsockopt(pp[0], SOL_SOCKET, SO_TYPE, &v, &vl));
	say("setsockopt", setsockopt(pp[0], SOL_SOCKET, SO_RCVBUF, &v, sizeof v));
	say("connect", connect(pp[0], (struct sockaddr *)&a, sizeof a));
	say("shutdown", shutdown(pp[0], SHUT_RD));
	say("getsockname", getsockname(pp[0], (struct sockaddr *)&a, &al));
	say("accept", accept(pp[0], NULL, NULL));
	say("listen", listen(pp[0], 1));
	say("write", write(pp[1], "ok", 2));
	char buf[4];
	say("read", read(pp[0], buf, sizeof buf));
	return 0;
}
