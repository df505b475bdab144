/* epoll over a pipe and a socket: the pipe's event and the socket's event
 * are reported with their own data; maxevents 1 returns one at a time. */
#include "api.h"

int main(void)
{
	api_init();
	int pp[2];
	CHECK(pipe(pp) == 0);
	int fd = tcp_connect(PORT_ECHO);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 100 }, out[4];
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, pp[0], &ev) == 0);
	ev.data.u32 = 200;
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
	write_all(pp[1], "p", 1);
	int n = epoll_wait(ep, out, 4, 1000);
	say("pipe only", n);
	if (n > 0)
		sayf("data=%u", out[0].data.u32);
	write_all(fd, "s", 1);
	CHECK(wait_for(fd, POLLIN, 3000) & POLLIN);
	n = epoll_wait(ep, out, 4, 1000);
	say("both", n);
	unsigned sum = 0;
	for (int i = 0; i < n; i++)
		sum += out[i].data.u32;
	sayf("data sum=%u", sum);
	say("maxevents 1", epoll_wait(ep, out, 1, 0));
	char c;
	CHECK(read(pp[0], &c, 1) == 1);
	n = epoll_wait(ep, out, 4, 0);
	say("after reading the pipe", n);
	if (n > 0)
		sayf("data=%u", out[0].data.u32);
	return 0;
}
