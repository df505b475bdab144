/* epoll_pwait with a mask that unblocks a pending SIGUSR1: -1 EINTR, the
 * handler ran, the mask is restored; with data it returns the event. */
#include "api.h"

int main(void)
{
	api_init();
	on_signal(SIGUSR1, count_sig, 0);
	sigset_t block, empty, cur;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigemptyset(&empty);
	CHECK(sigprocmask(SIG_BLOCK, &block, NULL) == 0);
	int fd = tcp_connect(PORT_ECHO);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd }, out[4];
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
	say("epoll_pwait 100 ms, blocked", epoll_pwait(ep, out, 4, 100, &block));
	raise(SIGUSR1);
	say("epoll_pwait unblocking", epoll_pwait(ep, out, 4, 2000, &empty));
	sayf("handler count: %d", (int)sig_count);
	CHECK(sigprocmask(SIG_BLOCK, NULL, &cur) == 0);
	sayf("SIGUSR1 blocked again: %s", yesno(sigismember(&cur, SIGUSR1)));
	write_all(fd, "w", 1);
	int n = epoll_pwait(ep, out, 4, 3000, &empty);
	say("epoll_pwait with data", n);
	if (n > 0)
		sayf("events=%s", epollbits(out[0].events));
	return 0;
}
