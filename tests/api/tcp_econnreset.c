/* The peer resets the connection (SO_LINGER 0): a blocking recv fails
 * with ECONNRESET, once; afterwards recv returns 0 and SO_ERROR is 0. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_RESET);
	char c;
	say("recv", recv(fd, &c, 1, 0));
	say("recv again", recv(fd, &c, 1, 0));
	int err = -1;
	socklen_t l = sizeof err;
	CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0);
	sayf("SO_ERROR: %s", errname(err));
	close(fd);
	return 0;
}
