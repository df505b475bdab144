/* Blocking connect to a port nobody listens on: -1 ECONNREFUSED; SO_ERROR
 * afterwards is 0 (the error was reported); getpeername: ENOTCONN. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_socket();
	struct sockaddr_in a = peer_sin(PORT_CLOSED);
	say("connect", connect(fd, (struct sockaddr *)&a, sizeof a));
	int err = -1;
	socklen_t l = sizeof err;
	CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0);
	sayf("SO_ERROR after: %s", errname(err));
	struct sockaddr_in p;
	socklen_t pl = sizeof p;
	say("getpeername", getpeername(fd, (struct sockaddr *)&p, &pl));
	close(fd);
	return 0;
}
