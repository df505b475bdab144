/* Non-blocking connect to a listening peer: EINPROGRESS, poll POLLOUT,
 * SO_ERROR 0; a second connect then returns 0 (Linux reports the completed
 * connect once, EISCONN after that) and data flows. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK(fd >= 0);
	struct sockaddr_in a = peer_sin(PORT_ECHO);
	say("connect", connect(fd, (struct sockaddr *)&a, sizeof a));
	sayf("poll POLLOUT: %s", pollbits(wait_for(fd, POLLOUT, 3000)));
	int err = -1;
	socklen_t l = sizeof err;
	CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0);
	sayf("SO_ERROR: %s", errname(err));
	say("connect again", connect(fd, (struct sockaddr *)&a, sizeof a));
	say("connect a third time", connect(fd, (struct sockaddr *)&a, sizeof a));
	say("send", send(fd, "abc", 3, 0));
	CHECK(wait_for(fd, POLLIN, 3000) & POLLIN);
	char buf[8];
	say("recv", recv(fd, buf, sizeof buf, 0));
	close(fd);
	return 0;
}
