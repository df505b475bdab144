/* An unconnected UDP socket sending to a closed port gets no error: the
 * ICMP reply is not reported (recv stays EAGAIN, SO_ERROR 0, sendto keeps
 * succeeding). */
#include "api.h"

int main(void)
{
	api_init();
	int fd = udp_socket();
	struct sockaddr_in to = peer_sin(PORT_CLOSED);
	say("sendto", sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof to));
	sleep_ms(300);
	char buf[8];
	say("recv MSG_DONTWAIT", recv(fd, buf, sizeof buf, MSG_DONTWAIT));
	int err = -1;
	socklen_t l = sizeof err;
	CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0);
	sayf("SO_ERROR: %s", errname(err));
	say("sendto again", sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof to));
	sleep_ms(300);
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
	say("poll", poll(&p, 1, 0));
	sayf("revents: %s", pollbits(p.revents));
	close(fd);
	return 0;
}
