/* poll over a pipe and a TCP socket: only the pipe readable at first,
 * then both once the echo arrives; POLLOUT on both write ends. */
#include "api.h"

int main(void)
{
	api_init();
	int pp[2];
	CHECK(pipe(pp) == 0);
	int fd = tcp_connect(PORT_ECHO);
	struct pollfd p[3] = {
		{ .fd = pp[0], .events = POLLIN },
		{ .fd = fd, .events = POLLIN },
		{ .fd = pp[1], .events = POLLOUT },
	};
	say("poll (nothing readable)", poll(p, 2, 0));
	write_all(pp[1], "p", 1);
	say("poll (pipe readable)", poll(p, 2, 1000));
	sayf("pipe: %s socket: %s", pollbits(p[0].revents), pollbits(p[1].revents));
	write_all(fd, "s", 1);
	/* wait for the echo with the socket alone */
	CHECK(wait_for(fd, POLLIN, 3000) & POLLIN);
	say("poll (both readable)", poll(p, 2, 1000));
	sayf("pipe: %s socket: %s", pollbits(p[0].revents), pollbits(p[1].revents));
	p[1].events = POLLIN | POLLOUT;
	say("poll all three", poll(p, 3, 1000));
	sayf("pipe: %s socket: %s pipe-w: %s", pollbits(p[0].revents), pollbits(p[1].revents), pollbits(p[2].revents));
	char c;
	CHECK(read(pp[0], &c, 1) == 1 && read(fd, &c, 1) == 1);
	say("poll after reading both", poll(p, 2, 0));
	sayf("pipe: %s socket: %s", pollbits(p[0].revents), pollbits(p[1].revents));
	close(fd);
	return 0;
}
