/* EBADF: send/recv/getsockopt/connect/close on -1 and on a closed socket
 * fd. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_DISCARD);
	CHECK(close(fd) == 0);
	int fds[2] = { -1, fd };
	const char *names[2] = { "-1", "closed" };
	for (int i = 0; i < 2; i++) {
		char l[64];
		int v;
		socklen_t vl = sizeof v;
		struct sockaddr_in a = peer_sin(PORT_ECHO);
		snprintf(l, sizeof l, "send %s", names[i]);
		say(l, send(fds[i], "x", 1, 0));
		snprintf(l, sizeof l, "recv %s", names[i]);
		say(l, recv(fds[i], &v, 1, MSG_DONTWAIT));
		snprintf(l, sizeof l, "getsockopt %s", names[i]);
		say(l, getsockopt(fds[i], SOL_SOCKET, SO_TYPE, &v, &vl));
		snprintf(l, sizeof l, "connect %s", names[i]);
		say(l, connect(fds[i], (struct sockaddr *)&a, sizeof a));
		snprintf(l, sizeof l, "close %s", names[i]);
		say(l, close(fds[i]));
	}
	return 0;
}
