/* UDP sendto/recvfrom through the echo service: length, data, and the
 * sender's address (the peer, port 7, length 16). The socket is bound
 * implicitly by sendto (getsockname: a nonzero port). */
#include "api.h"

int main(void)
{
	api_init();
	int fd = udp_socket();
	struct sockaddr_in to = peer_sin(PORT_ECHO), from;
	char out[300], in[512];
	fill_pattern(out, sizeof out, 9);
	say("sendto", sendto(fd, out, sizeof out, 0, (struct sockaddr *)&to, sizeof to));
	struct sockaddr_in me;
	socklen_t ml = sizeof me;
	CHECK(getsockname(fd, (struct sockaddr *)&me, &ml) == 0);
	sayf("implicitly bound: port %s", sin_port(&me) ? "nonzero" : "zero");
	socklen_t fl = sizeof from;
	memset(&from, 0, sizeof from);
	ssize_t r = recvfrom(fd, in, sizeof in, 0, (struct sockaddr *)&from, &fl);
	say("recvfrom", r);
	sayf("match=%s fromlen=%u from_peer=%s port=%d", yesno(r == (ssize_t)sizeof out && !memcmp(in, out, sizeof out)),
	     (unsigned)fl, yesno(sin_ip_is(&from, peer_ip())), sin_port(&from));
	say("sendto NULL address on unconnected", sendto(fd, "x", 1, 0, NULL, 0));
	close(fd);
	return 0;
}
