/* An epoll fd inside another epoll set and inside a poll set: when a
 * socket in the inner set becomes readable, the outer epoll reports the
 * inner fd EPOLLIN, and poll reports POLLIN on it. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	int inner = epoll_create1(0), outer = epoll_create1(0);
	CHECK(inner >= 0 && outer >= 0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 1 }, out[4];
	CHECK(epoll_ctl(inner, EPOLL_CTL_ADD, fd, &ev) == 0);
	ev.data.u32 = 2;
	say("ADD inner to outer", epoll_ctl(outer, EPOLL_CTL_ADD, inner, &ev));
	struct pollfd p = { .fd = inner, .events = POLLIN };
	say("outer idle", epoll_wait(outer, out, 4, 0));
	say("poll inner idle", poll(&p, 1, 0));
	write_all(fd, "n", 1);
	int n = epoll_wait(outer, out, 4, 3000);
	say("outer after data", n);
	if (n > 0)
		sayf("events=%s data=%u", epollbits(out[0].events), out[0].data.u32);
	say("poll inner", poll(&p, 1, 1000));
	sayf("revents: %s", pollbits(p.revents));
	n = epoll_wait(inner, out, 4, 0);
	say("inner", n);
	if (n > 0)
		sayf("events=%s data=%u", epollbits(out[0].events), out[0].data.u32);
	char c;
	CHECK(read(fd, &c, 1) == 1);
	say("outer after reading", epoll_wait(outer, out, 4, 0));
	return 0;
}
