/* Blocking connect to a listening peer returns 0; the socket is writable
 * and SO_ERROR is 0. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_socket();
	struct sockaddr_in a = peer_sin(PORT_ECHO);
	say("connect", connect(fd, (struct sockaddr *)&a, sizeof a));
	int err = -1;
	socklen_t l = sizeof err;
	CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0);
	sayf("SO_ERROR: %s", errname(err));
	sayf("poll: %s", pollbits(wait_for(fd, POLLIN | POLLOUT, 1000)));
	close(fd);
	return 0;
}
