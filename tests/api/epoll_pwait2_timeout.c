/* epoll_pwait2 with a timespec: 120 ms expires with 0 (after at least
 * that long), a zero timespec returns at once, data is reported; a
 * negative tv_nsec is EINVAL. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd }, out[4];
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
	struct timespec ts = { 0, 120000000 };
	long long t0 = now_ms();
	say("epoll_pwait2 120 ms", epoll_pwait2(ep, out, 4, &ts, NULL));
	sayf("waited >= 115 ms: %s", yesno(now_ms() - t0 >= 115));
	ts.tv_nsec = 0;
	say("epoll_pwait2 zero", epoll_pwait2(ep, out, 4, &ts, NULL));
	write_all(fd, "2", 1);
	ts.tv_sec = 3;
	int n = epoll_pwait2(ep, out, 4, &ts, NULL);
	say("epoll_pwait2 with data", n);
	if (n > 0)
		sayf("events=%s", epollbits(out[0].events));
	ts.tv_sec = 0;
	ts.tv_nsec = -1;
	say("epoll_pwait2 bad timespec", epoll_pwait2(ep, out, 4, &ts, NULL));
	return 0;
}
