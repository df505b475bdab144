/* connect(AF_UNSPEC) dissolves a UDP association: getpeername becomes
 * ENOTCONN and send without an address EDESTADDRREQ; sendto still works. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = udp_socket();
	struct sockaddr_in to = peer_sin(PORT_ECHO);
	CHECK(connect(fd, (struct sockaddr *)&to, sizeof to) == 0);
	struct sockaddr un;
	memset(&un, 0, sizeof un);
	un.sa_family = AF_UNSPEC;
	say("connect AF_UNSPEC", connect(fd, &un, sizeof un));
	struct sockaddr_in p;
	socklen_t pl = sizeof p;
	say("getpeername", getpeername(fd, (struct sockaddr *)&p, &pl));
	say("send", send(fd, "x", 1, 0));
	say("sendto", sendto(fd, "y", 1, 0, (struct sockaddr *)&to, sizeof to));
	char c;
	CHECK(wait_for(fd, POLLIN, 3000) & POLLIN);
	say("recv", recv(fd, &c, 1, 0));
	close(fd);
	return 0;
}
