/* send/write on an unconnected UDP socket: EDESTADDRREQ; recv with
 * MSG_DONTWAIT on it: EAGAIN; sendto with a too-short address: EINVAL. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = udp_socket();
	say("send", send(fd, "x", 1, 0));
	say("write", write(fd, "x", 1));
	char c;
	say("recv MSG_DONTWAIT", recv(fd, &c, 1, MSG_DONTWAIT));
	struct sockaddr_in to = peer_sin(PORT_ECHO);
	say("sendto addrlen 4", sendto(fd, "x", 1, 0, (struct sockaddr *)&to, 4));
	close(fd);
	return 0;
}
