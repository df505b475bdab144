/* Edge-triggered epoll: an arrival is reported once; with the data still
 * unread there is no further event; a new arrival reports again. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(ep >= 0);
	sayf("epoll fd FD_CLOEXEC: %s", yesno(fcntl(ep, F_GETFD) & FD_CLOEXEC));
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.fd = fd }, out[4];
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
	write_all(fd, "a", 1);
	int n = epoll_wait(ep, out, 4, 3000);
	say("epoll_wait after 1st arrival", n);
	if (n > 0)
		sayf("events=%s", epollbits(out[0].events));
	say("epoll_wait again (no new data)", epoll_wait(ep, out, 4, 100));
	write_all(fd, "b", 1);
	n = epoll_wait(ep, out, 4, 3000);
	say("epoll_wait after 2nd arrival", n);
	say("epoll_wait again", epoll_wait(ep, out, 4, 0));
	char buf[4];
	say("read both bytes", read(fd, buf, sizeof buf));
	say("epoll_wait after read", epoll_wait(ep, out, 4, 0));
	close(ep);
	close(fd);
	return 0;
}
