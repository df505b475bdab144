/* Non-blocking connect to a host that does not answer (no ARP reply):
 * EINPROGRESS, a second connect while it is pending: EALREADY; poll shows
 * nothing for 300 ms and SO_ERROR stays 0 meanwhile. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK(fd >= 0);
	struct sockaddr_in a = sin_of(nohost_ip(), 80);
	say("connect", connect(fd, (struct sockaddr *)&a, sizeof a));
	say("connect again", connect(fd, (struct sockaddr *)&a, sizeof a));
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
	say("poll 300ms", poll(&p, 1, 300));
	int err = -1;
	socklen_t l = sizeof err;
	CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0);
	sayf("SO_ERROR while pending: %s", errname(err));
	char c;
	say("recv while pending", recv(fd, &c, 1, 0));
	close(fd);
	return 0;
}
