/* poll on sockets that are neither connected nor listening: a fresh TCP
 * socket reports POLLOUT|POLLHUP, a fresh UDP socket POLLOUT, a listening
 * socket with nothing pending 0. */
#include "api.h"

static void show(const char *what, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP };
	int r = poll(&p, 1, 0);
	sayf("%s: ret=%d revents=%s", what, r, pollbits(p.revents));
}

int main(void)
{
	api_init();
	show("fresh tcp", tcp_socket());
	show("fresh udp", udp_socket());
	int port;
	show("listening tcp", tcp_listener(&port));
	int b = tcp_socket();
	struct sockaddr_in a = self_sin(0);
	CHECK(bind(b, (struct sockaddr *)&a, sizeof a) == 0);
	show("bound tcp", b);
	return 0;
}
