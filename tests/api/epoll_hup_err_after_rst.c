/* After the peer's RST, epoll reports EPOLLERR|EPOLLHUP (asked or not)
 * along with EPOLLIN|EPOLLRDHUP. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_RESET);
	CHECK(wait_for(fd, POLLERR, 3000) & POLLERR);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u32 = 1 }, out[4];
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
	int n = epoll_wait(ep, out, 4, 1000);
	say("epoll_wait", n);
	if (n > 0)
		sayf("events=%s", epollbits(out[0].events));
	ev.events = 0;
	CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) == 0);
	n = epoll_wait(ep, out, 4, 1000);
	say("epoll_wait with empty mask", n);
	if (n > 0)
		sayf("events=%s", epollbits(out[0].events));
	close(ep);
	close(fd);
	return 0;
}
