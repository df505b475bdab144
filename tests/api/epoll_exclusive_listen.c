/* EPOLLEXCLUSIVE on a listening socket from two epoll instances: when a
 * connection arrives at least one of them reports EPOLLIN; EPOLL_CTL_MOD
 * on an exclusive entry is EINVAL. */
#include "api.h"

int main(void)
{
	api_init();
	int port;
	int ls = tcp_listener(&port);
	int e1 = epoll_create1(0), e2 = epoll_create1(0);
	CHECK(e1 >= 0 && e2 >= 0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = ls }, out[2];
	say("ADD exclusive to e1", epoll_ctl(e1, EPOLL_CTL_ADD, ls, &ev));
	say("ADD exclusive to e2", epoll_ctl(e2, EPOLL_CTL_ADD, ls, &ev));
	say("epoll_wait e1 idle", epoll_wait(e1, out, 2, 0));
	int ctl = connect_back(port, 1);
	CHECK(wait_for(ls, POLLIN, 3000) & POLLIN);
	int n1 = epoll_wait(e1, out, 2, 500);
	int n2 = epoll_wait(e2, out, 2, 0);
	sayf("at least one reported: %s", yesno(n1 > 0 || n2 > 0));
	say("MOD exclusive entry", epoll_ctl(e1, EPOLL_CTL_MOD, ls, &ev));
	int c = accept(ls, NULL, NULL);
	say("accept", c < 0 ? c : 0);
	close(c);
	close(ctl);
	return 0;
}
