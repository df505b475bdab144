/* A connected UDP socket to a closed port: after the ICMP error arrives,
 * poll reports POLLERR, SO_ERROR returns ECONNREFUSED and clears it; poll
 * then shows only POLLOUT. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = udp_socket();
	struct sockaddr_in to = peer_sin(PORT_CLOSED);
	CHECK(connect(fd, (struct sockaddr *)&to, sizeof to) == 0);
	say("send", send(fd, "x", 1, 0));
	sayf("poll: %s", pollbits(wait_for(fd, POLLIN, 3000)));
	int err = -1;
	socklen_t l = sizeof err;
	CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0);
	sayf("SO_ERROR: %s", errname(err));
	l = sizeof err;
	CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0);
	sayf("SO_ERROR again: %s", errname(err));
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
	say("poll after clearing", poll(&p, 1, 0));
	sayf("revents: %s", pollbits(p.revents));
	close(fd);
	return 0;
}
