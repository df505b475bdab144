/* epoll on a non-blocking connect: EPOLLOUT when the connection is
 * established (success), EPOLLOUT|EPOLLERR|EPOLLHUP when refused. */
#include "api.h"

static void run(const char *what, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK(fd >= 0);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLOUT, .data.fd = fd }, out[4];
	struct sockaddr_in a = peer_sin(port);
	int r = connect(fd, (struct sockaddr *)&a, sizeof a);
	CHECK(r == 0 || errno == EINPROGRESS);
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
	int n = epoll_wait(ep, out, 4, 3000);
	sayf("%s: n=%d events=%s", what, n, n > 0 ? epollbits(out[0].events) : "-");
	close(ep);
	close(fd);
}

int main(void)
{
	api_init();
	run("echo", PORT_ECHO);
	run("closed port", PORT_CLOSED);
	return 0;
}
