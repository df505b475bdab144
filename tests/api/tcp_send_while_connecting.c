/* While a non-blocking connect is still pending (nobody answers): send is
 * EAGAIN, getpeername is ENOTCONN, poll reports nothing. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK(fd >= 0);
	struct sockaddr_in a = sin_of(nohost_ip(), 80), p;
	say("connect", connect(fd, (struct sockaddr *)&a, sizeof a));
	say("send", send(fd, "x", 1, 0));
	socklen_t pl = sizeof p;
	say("getpeername", getpeername(fd, (struct sockaddr *)&p, &pl));
	struct pollfd q = { .fd = fd, .events = POLLIN | POLLOUT };
	say("poll", poll(&q, 1, 0));
	close(fd);
	return 0;
}
