/* epoll_wait and poll are never restarted: with a SA_RESTART handler,
 * SIGALRM still makes them return -1 EINTR. */
#include "api.h"

int main(void)
{
	api_init();
	on_signal(SIGALRM, count_sig, SA_RESTART);
	int fd = tcp_connect(PORT_DISCARD);
	int ep = epoll_create1(0);
	CHECK(ep >= 0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
	alarm_ms(200);
	struct epoll_event out[4];
	say("epoll_wait", epoll_wait(ep, out, 4, 3000));
	sayf("SIGALRM count: %d", (int)sig_count);
	alarm_ms(200);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	say("poll", poll(&p, 1, 3000));
	sayf("SIGALRM count: %d", (int)sig_count);
	close(ep);
	close(fd);
	return 0;
}
