/* Edge-triggered: after the event was consumed, EPOLL_CTL_MOD with the
 * same mask re-arms it, so the still-unread data is reported again. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	int ep = epoll_create1(0);
	CHECK(ep >= 0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.fd = fd }, out[4];
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
	write_all(fd, "x", 1);
	say("epoll_wait", epoll_wait(ep, out, 4, 3000));
	say("epoll_wait (consumed)", epoll_wait(ep, out, 4, 0));
	say("EPOLL_CTL_MOD", epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev));
	int n = epoll_wait(ep, out, 4, 0);
	say("epoll_wait after MOD", n);
	if (n > 0)
		sayf("events=%s", epollbits(out[0].events));
	close(ep);
	close(fd);
	return 0;
}
