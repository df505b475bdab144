/* EPOLLRDHUP: the peer's FIN is reported as EPOLLIN|EPOLLRDHUP (the data
 * before it is still readable); without EPOLLRDHUP asked only EPOLLIN. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_HELLO_CLOSE);
	int fd2 = tcp_connect(PORT_HELLO_CLOSE);
	int ep = epoll_create1(0);
	CHECK(ep >= 0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u32 = 1 }, out[4];
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
	CHECK(wait_for(fd, POLLRDHUP, 3000) & POLLRDHUP);
	CHECK(wait_for(fd2, POLLRDHUP, 3000) & POLLRDHUP);
	int n = epoll_wait(ep, out, 4, 1000);
	say("epoll_wait", n);
	if (n > 0)
		sayf("events=%s", epollbits(out[0].events));
	int ep2 = epoll_create1(0);
	ev.events = EPOLLIN;
	CHECK(epoll_ctl(ep2, EPOLL_CTL_ADD, fd2, &ev) == 0);
	n = epoll_wait(ep2, out, 4, 1000);
	say("epoll_wait (EPOLLRDHUP not asked)", n);
	if (n > 0)
		sayf("events=%s", epollbits(out[0].events));
	char buf[64];
	sayf("data then EOF: %zu", read_full(fd, buf, sizeof buf));
	close(ep);
	close(ep2);
	close(fd);
	close(fd2);
	return 0;
}
