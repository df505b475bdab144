/* EPOLLONESHOT: one event, then the fd is disabled (new data: no event)
 * until EPOLL_CTL_MOD re-arms it; EPOLL_CTL_ADD again is EEXIST. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	int ep = epoll_create1(0);
	CHECK(ep >= 0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.fd = fd }, out[4];
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
	write_all(fd, "1", 1);
	int n = epoll_wait(ep, out, 4, 3000);
	say("epoll_wait", n);
	if (n > 0)
		sayf("events=%s", epollbits(out[0].events));
	write_all(fd, "2", 1);
	CHECK(wait_for(fd, POLLIN, 3000) & POLLIN);
	sleep_ms(50);
	say("epoll_wait (disarmed, more data)", epoll_wait(ep, out, 4, 100));
	say("EPOLL_CTL_ADD again", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	say("EPOLL_CTL_MOD re-arm", epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev));
	n = epoll_wait(ep, out, 4, 1000);
	say("epoll_wait after re-arm", n);
	say("epoll_wait (disarmed again)", epoll_wait(ep, out, 4, 0));
	close(ep);
	close(fd);
	return 0;
}
