/* A listening socket in epoll becomes readable when a connection arrives
 * (EPOLLIN only) and not readable again after the accept. */
#include "api.h"

int main(void)
{
	api_init();
	int port;
	int ls = tcp_listener(&port);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.fd = ls }, out[4];
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) == 0);
	say("epoll_wait idle", epoll_wait(ep, out, 4, 0));
	int ctl = connect_back(port, 1);
	int n = epoll_wait(ep, out, 4, 3000);
	say("epoll_wait", n);
	if (n > 0)
		sayf("events=%s is_listener=%s", epollbits(out[0].events), yesno(out[0].data.fd == ls));
	int c = accept(ls, NULL, NULL);
	say("accept", c < 0 ? c : 0);
	say("epoll_wait after accept", epoll_wait(ep, out, 4, 0));
	close(c);
	close(ctl);
	return 0;
}
