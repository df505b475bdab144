/* A connected UDP socket: send/recv without addresses, getpeername is the
 * peer, datagram boundaries are kept (two sends, two recvs); sendto with an
 * explicit address still works on it. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = udp_socket();
	struct sockaddr_in to = peer_sin(PORT_ECHO);
	say("connect", connect(fd, (struct sockaddr *)&to, sizeof to));
	struct sockaddr_in p;
	socklen_t pl = sizeof p;
	say("getpeername", getpeername(fd, (struct sockaddr *)&p, &pl));
	sayf("peer: is_peer=%s port=%d", yesno(sin_ip_is(&p, peer_ip())), sin_port(&p));
	say("send 5", send(fd, "first", 5, 0));
	say("send 6", send(fd, "second", 6, 0));
	char buf[64];
	say("recv", recv(fd, buf, sizeof buf, 0));
	say("recv", recv(fd, buf, sizeof buf, 0));
	say("sendto explicit", sendto(fd, "third", 5, 0, (struct sockaddr *)&to, sizeof to));
	say("read", read(fd, buf, sizeof buf));
	close(fd);
	return 0;
}
