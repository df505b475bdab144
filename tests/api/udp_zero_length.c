/* A zero-length UDP datagram is a datagram: send returns 0, the echo comes
 * back and recv returns 0 (with a poll showing it readable first). */
#include "api.h"

int main(void)
{
	api_init();
	int fd = udp_socket();
	struct sockaddr_in to = peer_sin(PORT_ECHO), from;
	say("sendto 0 bytes", sendto(fd, "", 0, 0, (struct sockaddr *)&to, sizeof to));
	sayf("poll: %s", pollbits(wait_for(fd, POLLIN, 3000)));
	char buf[8];
	socklen_t fl = sizeof from;
	say("recvfrom", recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl));
	sayf("from_peer=%s", yesno(sin_ip_is(&from, peer_ip())));
	say("recv MSG_DONTWAIT", recv(fd, buf, sizeof buf, MSG_DONTWAIT));
	close(fd);
	return 0;
}
