/* Non-blocking connect to a closed port: EINPROGRESS, then poll reports
 * the failure, SO_ERROR gives ECONNREFUSED once (then 0). */
#include "api.h"

int main(void)
{
	api_init();
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK(fd >= 0);
	struct sockaddr_in a = peer_sin(PORT_CLOSED);
	say("connect", connect(fd, (struct sockaddr *)&a, sizeof a));
	int rev = wait_for(fd, POLLOUT, 3000);
	sayf("poll POLLOUT: %s", pollbits(rev));
	int err = -1;
	socklen_t l = sizeof err;
	CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0);
	sayf("SO_ERROR: %s", errname(err));
	l = sizeof err;
	CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0);
	sayf("SO_ERROR again: %s", errname(err));
	close(fd);
	return 0;
}
