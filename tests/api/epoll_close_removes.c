/* Closing a registered socket fd (its only reference) removes it from the
 * epoll set: no event for it afterwards; a dup keeps the registration. */
#include "api.h"

int main(void)
{
	api_init();
	int a = tcp_connect(PORT_HELLO_CLOSE);
	int b = tcp_connect(PORT_HELLO_CLOSE);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 1 }, out[4];
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev) == 0);
	ev.data.u32 = 2;
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, b, &ev) == 0);
	CHECK(wait_for(a, POLLRDHUP, 3000) & POLLRDHUP);
	CHECK(wait_for(b, POLLRDHUP, 3000) & POLLRDHUP);
	say("both readable", epoll_wait(ep, out, 4, 1000));
	int bd = dup(b);
	CHECK(bd >= 0);
	close(a);
	close(b);
	int n = epoll_wait(ep, out, 4, 200);
	say("after closing a and b (b has a dup)", n);
	if (n > 0)
		sayf("data=%u", out[0].data.u32);
	close(bd);
	say("after closing the dup", epoll_wait(ep, out, 4, 200));
	return 0;
}
