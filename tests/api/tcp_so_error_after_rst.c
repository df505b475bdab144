/* After the peer's RST, SO_ERROR reports ECONNRESET once (and clears it);
 * the next recv returns 0. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_RESET);
	wait_for(fd, POLLERR, 3000);
	int err = -1;
	socklen_t l = sizeof err;
	CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0);
	sayf("SO_ERROR: %s", errname(err));
	l = sizeof err;
	CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0);
	sayf("SO_ERROR again: %s", errname(err));
	char c;
	say("recv", recv(fd, &c, 1, 0));
	close(fd);
	return 0;
}
