/* Level-triggered epoll: unread data is reported on every epoll_wait
 * until it is read; then epoll_wait(0) returns 0. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	int ep = epoll_create1(0);
	CHECK(ep >= 0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 42 }, out[4];
	say("epoll_ctl ADD", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	say("epoll_wait idle", epoll_wait(ep, out, 4, 0));
	write_all(fd, "lt", 2);
	int n = epoll_wait(ep, out, 4, 3000);
	say("epoll_wait", n);
	if (n > 0)
		sayf("events=%s data=%llu", epollbits(out[0].events), (unsigned long long)out[0].data.u64);
	n = epoll_wait(ep, out, 4, 0);
	say("epoll_wait again (unread)", n);
	if (n > 0)
		sayf("events=%s", epollbits(out[0].events));
	char buf[4];
	CHECK(read_full(fd, buf, 2) == 2);
	say("epoll_wait after reading", epoll_wait(ep, out, 4, 0));
	close(ep);
	close(fd);
	return 0;
}
