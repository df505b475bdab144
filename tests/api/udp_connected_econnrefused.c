/* A connected UDP socket to a closed port: send succeeds, the peer's ICMP
 * port unreachable makes the next recv fail with ECONNREFUSED (once); after
 * that recv is EAGAIN (MSG_DONTWAIT). */
#include "api.h"

int main(void)
{
	api_init();
	int fd = udp_socket();
	struct sockaddr_in to = peer_sin(PORT_CLOSED);
	say("connect", connect(fd, (struct sockaddr *)&to, sizeof to));
	struct timeval tv = { 3, 0 };
	CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
	say("send", send(fd, "anyone?", 7, 0));
	char buf[16];
	say("recv", recv(fd, buf, sizeof buf, 0));
	say("recv again (MSG_DONTWAIT)", recv(fd, buf, sizeof buf, MSG_DONTWAIT));
	close(fd);
	return 0;
}
