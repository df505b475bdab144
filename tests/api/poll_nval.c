/* poll with a closed fd: POLLNVAL for it (counted in the result); a
 * negative fd is ignored (revents 0); a live socket next to them is still
 * reported. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_DISCARD);
	int dead = tcp_socket();
	close(dead);
	struct pollfd p[3] = {
		{ .fd = dead, .events = POLLIN },
		{ .fd = -1, .events = POLLIN },
		{ .fd = fd, .events = POLLOUT },
	};
	say("poll", poll(p, 3, 0));
	sayf("closed: %s, negative: %s, live: %s", pollbits(p[0].revents), pollbits(p[1].revents), pollbits(p[2].revents));
	close(fd);
	return 0;
}
