/* socketpair(AF_INET) is EOPNOTSUPP; socketpair(AF_UNIX) works and its
 * fds sit next to AF_INET sockets in one poll. */
#include "api.h"

int main(void)
{
	api_init();
	int sv[2];
	say("socketpair AF_INET", socketpair(AF_INET, SOCK_STREAM, 0, sv));
	say("socketpair AF_UNIX", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	int fd = tcp_connect(PORT_DISCARD);
	say("send on unix", send(sv[0], "u", 1, 0));
	struct pollfd p[2] = { { .fd = sv[1], .events = POLLIN }, { .fd = fd, .events = POLLIN } };
	say("poll", poll(p, 2, 1000));
	sayf("unix: %s inet: %s", pollbits(p[0].revents), pollbits(p[1].revents));
	int t = -1;
	socklen_t l = sizeof t;
	CHECK(getsockopt(sv[0], SOL_SOCKET, SO_DOMAIN, &t, &l) == 0);
	sayf("unix SO_DOMAIN is AF_UNIX: %s", yesno(t == AF_UNIX));
	return 0;
}
