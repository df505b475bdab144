/* On a TCP socket that never connected: recv, getpeername and
 * shutdown are ENOTCONN; read too. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_socket();
	char buf[8];
	struct sockaddr_in a;
	socklen_t l = sizeof a;
	say("recv", recv(fd, buf, sizeof buf, 0));
	say("read", read(fd, buf, sizeof buf));
	say("recv MSG_DONTWAIT", recv(fd, buf, sizeof buf, MSG_DONTWAIT));
	say("getpeername", getpeername(fd, (struct sockaddr *)&a, &l));
	say("shutdown SHUT_RDWR", shutdown(fd, SHUT_RDWR));
	say("shutdown SHUT_WR", shutdown(fd, SHUT_WR));
	close(fd);
	return 0;
}
